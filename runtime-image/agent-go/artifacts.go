package main

// Fetches the function's code and layers (or takes the bytes sent inline), proves each is the
// pinned digest, and lays them out: code in the task root, layers in order in the opt root.
// Every archive is validated before anything is written, so a bad layer 3 leaves no trace of
// the code or layers 1-2 either.

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"time"
)

const (
	downloadTimeout = 5 * time.Minute
	// The store may be restarting (an upgrade replaces its pod): a cold start waits for it
	// rather than failing, within the gateway's cold-start time.
	storeRetry           = 30 * time.Second
	zipOverheadAllowance = 16 * 1024 * 1024
)

var artifactClient = &http.Client{Timeout: downloadTimeout}

func fetchArtifact(rawURL string, maxBytes int64) ([]byte, *AgentError) {
	fail := func(format string, args ...any) ([]byte, *AgentError) {
		return nil, agentErr(ErrorTypeArtifactFetchFailed, 502, format, args...)
	}
	if u, err := url.Parse(rawURL); err == nil && u.Scheme == "file" {
		info, err := os.Stat(u.Path)
		if err != nil {
			return fail("Could not read %s: %s", rawURL, err)
		}
		if info.Size() > maxBytes {
			return fail("%s is %d bytes; the limit is %d", rawURL, info.Size(), maxBytes)
		}
		b, err := os.ReadFile(u.Path)
		if err != nil {
			return fail("Could not read %s: %s", rawURL, err)
		}
		return b, nil
	}
	deadline := time.Now().Add(storeRetry)
	var res *http.Response
	var err error
	for delay := 100 * time.Millisecond; ; delay = min(delay*2, time.Second) {
		res, err = artifactClient.Get(rawURL)
		// Retried: refused before any answer (the store restarting, or a NetworkPolicy reaching
		// a new pod late) and a store or proxy saying it is unavailable for now. Not retried:
		// timeouts, and every other answer.
		retry := errors.Is(err, syscall.ECONNREFUSED) || (err == nil && unavailable(res.StatusCode))
		if !retry || time.Now().Add(delay).After(deadline) {
			break
		}
		if res != nil {
			res.Body.Close()
		}
		time.Sleep(delay)
	}
	if res == nil {
		return fail("GET %s failed: %s", rawURL, err)
	}
	defer res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fail("GET %s returned HTTP %d", rawURL, res.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, maxBytes+1))
	if err != nil {
		return fail("GET %s failed while reading: %s", rawURL, err)
	}
	if int64(len(b)) > maxBytes {
		return fail("%s is larger than %d bytes", rawURL, maxBytes)
	}
	return b, nil
}

func unavailable(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

func verifyDigest(data []byte, expected, label string) *AgentError {
	sum := sha256.Sum256(data)
	if actual := hex.EncodeToString(sum[:]); actual != expected {
		return agentErr(ErrorTypeCodeVerificationFailed, 400, "The sha256 of the %s is %s; the configuration expects %s", label, actual, expected)
	}
	return nil
}

type artifactSource struct {
	label, target string
	ref           *Artifact
}

// labelled says which archive an error came from; I/O errors become ExtractionFailed.
func labelled(err error, label string) *AgentError {
	var zerr *ZipError
	var aerr *AgentError
	switch {
	case errors.As(err, &zerr):
		return agentErr(ErrorTypeInvalidZipFile, 400, "%s: %s", label, zerr.Message)
	case errors.As(err, &aerr):
		return agentErr(aerr.Type, aerr.Status, "%s: %s", label, aerr.Message)
	default:
		return agentErr(ErrorTypeExtractionFailed, 500, "%s: %s", label, err)
	}
}

// installArtifacts is fetch → verify → validate all → extract all; it returns the unzipped bytes.
func installArtifacts(c *FunctionConfig, taskRoot, optRoot string) (int64, *AgentError) {
	if c.Code == nil {
		return 0, nil // an image function brings its code in its own container
	}
	sources := []artifactSource{{"function code", taskRoot, c.Code}}
	for i, l := range c.Layers {
		sources = append(sources, artifactSource{fmt.Sprintf("layer %d", i+1), optRoot, l})
	}
	maxDownload := c.MaxUnzippedBytes + zipOverheadAllowance
	downloads := make([][]byte, len(sources))
	errs := make([]*AgentError, len(sources))
	done := make(chan int)
	for i, s := range sources {
		go func() {
			if s.ref.Inline != "" {
				b, err := decodeInline(s.ref)
				s.ref.Inline = "" // the bytes are not kept with the configuration
				if err != nil {
					errs[i] = agentErr(ErrorTypeInvalidConfig, 400, "%s: inline bytes are not base64", s.label)
				}
				downloads[i] = b
			} else {
				downloads[i], errs[i] = fetchArtifact(s.ref.URL, maxDownload)
			}
			done <- i
		}()
	}
	for range sources {
		<-done
	}
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	type planned struct {
		source  artifactSource
		archive *ZipArchive
		plan    []PlannedEntry
	}
	var used int64
	var plans []planned
	for i, s := range sources {
		if err := verifyDigest(downloads[i], s.ref.SHA256, s.label); err != nil {
			return 0, err
		}
		archive, zerr := openZip(downloads[i])
		if zerr != nil {
			return 0, labelled(zerr, s.label)
		}
		plan, total, zerr := validateZipEntries(archive.Entries, MaxZipEntries, c.MaxUnzippedBytes, used)
		if zerr != nil {
			return 0, labelled(zerr, s.label)
		}
		used += total
		plans = append(plans, planned{s, archive, plan})
	}
	journal := &extractionJournal{}
	for _, p := range plans {
		if err := extractZip(p.archive, p.plan, p.source.target, journal); err != nil {
			journal.undo()
			return 0, labelled(err, p.source.label)
		}
	}
	return used, nil
}
