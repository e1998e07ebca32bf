package main

// Pure validation of a zip's entry table: entries in, extraction plan or typed refusal out —
// the rules of operator/src/zip/validation.ts, so the artifact store and the agent agree.
//
// Symlink rule: a symlink entry is allowed only if its target is relative, resolves lexically
// inside the extraction root, and does not pass through another symlink of the same archive;
// no entry may sit below a symlink of the same archive.

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// ZipError is an InvalidZipFileException with the reason it was refused.
type ZipError struct {
	Reason  string
	Message string
}

func (e *ZipError) Error() string { return e.Message }

func (e *ZipError) agentError() *AgentError {
	return agentErr(ErrorTypeInvalidZipFile, 400, "%s", e.Message)
}

func zipRefusal(reason, format string, args ...any) *ZipError {
	return &ZipError{reason, fmt.Sprintf(format, args...)}
}

func corruptZip(detail string) *ZipError {
	return zipRefusal("CorruptArchive", "Could not unzip uploaded file. Please check your file, then try to upload again. (%s)", detail)
}

// ZipEntryInfo is what the central directory says about one entry.
type ZipEntryInfo struct {
	Name             string
	Kind             string // file, directory, symlink, special
	UncompressedSize int64
	Method           uint16
	Encrypted        bool
	Mode             uint32
	LinkTarget       string
}

// PlannedEntry is one entry to write, at a normalised relative path.
type PlannedEntry struct {
	Index      int
	Path       string
	Kind       string
	Size       int64
	Executable bool
	LinkTarget string
}

var (
	absoluteName = regexp.MustCompile(`^[/\\]|^[A-Za-z]:`)
	driveLetter  = regexp.MustCompile(`^[A-Za-z]:`)
	nameSplit    = regexp.MustCompile(`[/\\]`)
)

func splitEntryName(name string) ([]string, *ZipError) {
	if strings.Contains(name, "\x00") {
		return nil, zipRefusal("InvalidEntryName", "Entry '%s' has a NUL byte in its name", name)
	}
	if absoluteName.MatchString(name) {
		return nil, zipRefusal("AbsolutePath", "Entry '%s' has an absolute path", name)
	}
	var segments []string
	for _, s := range nameSplit.Split(name, -1) {
		if s != "" && s != "." {
			segments = append(segments, s)
		}
	}
	for _, s := range segments {
		if s == ".." {
			return nil, zipRefusal("PathTraversal", "Entry '%s' escapes the extraction directory through '..'", name)
		}
	}
	for _, s := range segments {
		if len(s) > MaxSegmentBytes {
			return nil, zipRefusal("InvalidEntryName", "Entry '%s' has a path segment longer than %d bytes", name, MaxSegmentBytes)
		}
	}
	return segments, nil
}

// resolveLinkTarget is the target resolved from the link's directory, or false when it leaves the root.
func resolveLinkTarget(linkPath, target string) (string, bool) {
	if target == "" || strings.Contains(target, "\x00") || strings.HasPrefix(target, "/") || driveLetter.MatchString(target) {
		return "", false
	}
	resolved := path.Clean(path.Join(path.Dir(linkPath), strings.ReplaceAll(target, `\`, "/")))
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return "", false
	}
	if resolved == "." {
		return "", true
	}
	return resolved, true
}

func parentsOf(p string) []string {
	parts := strings.Split(p, "/")
	out := make([]string, 0, len(parts)-1)
	for i := 1; i < len(parts); i++ {
		out = append(out, strings.Join(parts[:i], "/"))
	}
	return out
}

// validateZipEntries checks a whole archive: the plan and its unzipped size, or the first reason to refuse it.
func validateZipEntries(entries []ZipEntryInfo, maxEntries int, maxUnzipped, used int64) ([]PlannedEntry, int64, *ZipError) {
	if len(entries) > maxEntries {
		return nil, 0, zipRefusal("TooManyEntries", "Zip archive has %d entries; the limit is %d", len(entries), maxEntries)
	}
	var plan []PlannedEntry
	kinds := map[string]string{}
	var total int64
	for index, e := range entries {
		name := e.Name
		if e.Encrypted {
			return nil, 0, zipRefusal("UnsupportedEntry", "Entry '%s' is encrypted", name)
		}
		if e.Kind == "special" {
			return nil, 0, zipRefusal("UnsupportedEntry", "Entry '%s' is a device, FIFO or socket", name)
		}
		if e.Kind != "directory" && e.Method != 0 && e.Method != 8 {
			return nil, 0, zipRefusal("UnsupportedEntry", "Entry '%s' uses unsupported compression method %d", name, e.Method)
		}
		if e.UncompressedSize < 0 || e.UncompressedSize > 1<<53 {
			return nil, 0, zipRefusal("CorruptArchive", "Entry '%s' declares an invalid size", name)
		}
		segments, err := splitEntryName(name)
		if err != nil {
			return nil, 0, err
		}
		if len(segments) == 0 {
			if e.Kind == "directory" {
				continue // "./" names the root itself
			}
			return nil, 0, zipRefusal("InvalidEntryName", "Entry '%s' has an empty path", name)
		}
		p := strings.Join(segments, "/")
		if _, dup := kinds[p]; dup {
			return nil, 0, zipRefusal("DuplicateEntry", "Entry '%s' appears more than once", p)
		}
		planned := PlannedEntry{Index: index, Path: p, Kind: e.Kind, Size: e.UncompressedSize, Executable: e.Mode&0o111 != 0}
		if e.Kind == "directory" {
			planned.Size = 0
		}
		if e.Kind == "symlink" {
			if _, ok := resolveLinkTarget(p, e.LinkTarget); e.UncompressedSize > MaxSymlinkTargetBytes || !ok {
				return nil, 0, zipRefusal("UnsafeSymlink", "Symlink '%s' -> '%s' points outside the extraction directory", p, e.LinkTarget)
			}
			planned.LinkTarget = e.LinkTarget
		}
		total += planned.Size
		if used+total > maxUnzipped {
			return nil, 0, zipRefusal("UnzippedSizeTooLarge", "Unzipped size must be smaller than %d bytes", maxUnzipped)
		}
		kinds[p] = planned.Kind
		plan = append(plan, planned)
	}
	for _, e := range plan {
		for _, parent := range parentsOf(e.Path) {
			switch kinds[parent] {
			case "symlink":
				return nil, 0, zipRefusal("UnsafeSymlink", "Entry '%s' lies inside symlink '%s'", e.Path, parent)
			case "file":
				return nil, 0, zipRefusal("DuplicateEntry", "Entry '%s' is both a file and a directory", parent)
			}
		}
		if e.Kind == "symlink" {
			resolved, _ := resolveLinkTarget(e.Path, e.LinkTarget)
			var hops []string
			if resolved != "" {
				hops = append(parentsOf(resolved), resolved)
			}
			for _, hop := range hops {
				if hop != e.Path && kinds[hop] == "symlink" {
					return nil, 0, zipRefusal("UnsafeSymlink", "Symlink '%s' resolves through symlink '%s'", e.Path, hop)
				}
			}
		}
	}
	return plan, total, nil
}
