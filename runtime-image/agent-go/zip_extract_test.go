package main

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

type zipFile struct {
	name string
	data string
	mode os.FileMode // 0: a regular 0644 file
}

func buildZip(t *testing.T, files ...zipFile) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate}
		mode := f.mode
		if mode == 0 {
			mode = 0o644
		}
		h.SetMode(mode)
		out, err := w.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = out.Write([]byte(f.data))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// lyingZip holds one deflated entry whose header declares declaredSize and crc.
func lyingZip(t *testing.T, data []byte, declaredSize uint64, crc uint32) []byte {
	var deflated bytes.Buffer
	fw, _ := flate.NewWriter(&deflated, flate.DefaultCompression)
	_, _ = fw.Write(data)
	_ = fw.Close()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "entry.bin", Method: zip.Deflate, CRC32: crc,
		CompressedSize64: uint64(deflated.Len()), UncompressedSize64: declaredSize}
	h.SetMode(0o644)
	out, err := w.CreateRaw(h)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = out.Write(deflated.Bytes())
	_ = w.Close()
	return buf.Bytes()
}

func extractInto(data []byte, target string, journal *extractionJournal) error {
	a, zerr := openZip(data)
	if zerr != nil {
		return zerr
	}
	plan, _, verr := validateZipEntries(a.Entries, MaxZipEntries, 100<<20, 0)
	if verr != nil {
		return verr
	}
	return extractZip(a, plan, target, journal)
}

func zipReason(err error) string {
	var z *ZipError
	if errors.As(err, &z) {
		return z.Reason
	}
	return ""
}

func TestExtractsFilesDirectoriesModesAndSymlinks(t *testing.T) {
	data := buildZip(t, zipFile{"src/", "", os.ModeDir | 0o755}, zipFile{"src/index.js", "module.exports = 1;", 0},
		zipFile{"bootstrap", "#!/bin/sh\n", 0o755}, zipFile{"lib.so", "lib.so.1", os.ModeSymlink | 0o777})
	a, zerr := openZip(data)
	if zerr != nil {
		t.Fatal(zerr)
	}
	var kinds []string
	for _, e := range a.Entries {
		kinds = append(kinds, e.Name+":"+e.Kind+":"+e.LinkTarget)
	}
	sort.Strings(kinds)
	if strings.Join(kinds, " ") != "bootstrap:file: lib.so:symlink:lib.so.1 src/:directory: src/index.js:file:" {
		t.Errorf("entries %v", kinds)
	}
	target := t.TempDir()
	if err := extractInto(data, target, &extractionJournal{}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(target, "src/index.js")); string(b) != "module.exports = 1;" {
		t.Errorf("content %q", b)
	}
	if st, _ := os.Stat(filepath.Join(target, "bootstrap")); st.Mode().Perm() != 0o755 {
		t.Errorf("bootstrap mode %v", st.Mode())
	}
	if st, _ := os.Stat(filepath.Join(target, "src/index.js")); st.Mode().Perm() != 0o644 {
		t.Errorf("index.js mode %v", st.Mode())
	}
	if link, _ := os.Readlink(filepath.Join(target, "lib.so")); link != "lib.so.1" {
		t.Errorf("link %q", link)
	}
}

func TestLaterArchiveOverridesAndMerges(t *testing.T) {
	target := t.TempDir()
	if err := extractInto(buildZip(t, zipFile{"python/a.py", "A1", 0}, zipFile{"python/b.py", "B1", 0}), target, &extractionJournal{}); err != nil {
		t.Fatal(err)
	}
	if err := extractInto(buildZip(t, zipFile{"python/a.py", "A2", 0}), target, &extractionJournal{}); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(target, "python/a.py"))
	b, _ := os.ReadFile(filepath.Join(target, "python/b.py"))
	if string(a) != "A2" || string(b) != "B1" {
		t.Errorf("a.py %q, b.py %q", a, b)
	}
}

func TestCorruptArchives(t *testing.T) {
	if _, err := openZip([]byte("definitely not a zip file")); err == nil || err.Reason != "CorruptArchive" {
		t.Errorf("garbage: %v", err)
	}
	truncated := buildZip(t, zipFile{"a.txt", strings.Repeat("7", 1000), 0})[:60]
	if _, err := openZip(truncated); err == nil {
		t.Error("a truncated archive was opened")
	}
}

func TestInflatedBytesAreCountedAndChecked(t *testing.T) {
	for _, size := range []int{64 << 10, 3 << 20} {
		data := make([]byte, size)
		err := extractInto(lyingZip(t, data, uint64(size/2), crc32.ChecksumIEEE(data)), t.TempDir(), &extractionJournal{})
		if zipReason(err) != "SizeMismatch" {
			t.Errorf("understated %d bytes: %v", size, err)
		}
	}
	short := bytes.Repeat([]byte{3}, 1000)
	if err := extractInto(lyingZip(t, short, 2000, crc32.ChecksumIEEE(short)), t.TempDir(), &extractionJournal{}); err == nil {
		t.Error("a header that overstates the size was accepted")
	}
	hello := []byte("hello hello hello")
	if err := extractInto(lyingZip(t, hello, uint64(len(hello)), 0xdeadbeef), t.TempDir(), &extractionJournal{}); err == nil ||
		!strings.Contains(err.Error(), "CRC mismatch") {
		t.Errorf("bad CRC: %v", err)
	}
}

func TestNeverWritesThroughASymlinkOnDisk(t *testing.T) {
	target, outside := t.TempDir(), t.TempDir()
	if err := os.Symlink(outside, filepath.Join(target, "python")); err != nil {
		t.Fatal(err)
	}
	err := extractInto(buildZip(t, zipFile{"python/evil.py", "x", 0}), target, &extractionJournal{})
	if zipReason(err) != "UnsafeSymlink" {
		t.Errorf("got %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "evil.py")); err == nil {
		t.Error("written outside the tree")
	}
}

func TestReplacesASymlinkFromAnEarlierLayer(t *testing.T) {
	target, outside := t.TempDir(), t.TempDir()
	victim := filepath.Join(outside, "victim.txt")
	_ = os.WriteFile(victim, []byte("untouched"), 0o644)
	_ = os.Symlink(victim, filepath.Join(target, "x"))
	if err := extractInto(buildZip(t, zipFile{"x", "new content", 0}), target, &extractionJournal{}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "untouched" {
		t.Errorf("victim %q", b)
	}
	st, _ := os.Lstat(filepath.Join(target, "x"))
	b, _ := os.ReadFile(filepath.Join(target, "x"))
	if st.Mode()&os.ModeSymlink != 0 || string(b) != "new content" {
		t.Errorf("x: %v %q", st.Mode(), b)
	}
}

func TestUndoRemovesWhatAnExtractionCreated(t *testing.T) {
	target := t.TempDir()
	journal := &extractionJournal{}
	if err := extractInto(buildZip(t, zipFile{"a/b/c.txt", "c", 0}, zipFile{"d.txt", "d", 0}), target, journal); err != nil {
		t.Fatal(err)
	}
	journal.undo()
	for _, p := range []string{"a", "d.txt"} {
		if _, err := os.Lstat(filepath.Join(target, p)); err == nil {
			t.Errorf("%s is still there", p)
		}
	}
}
