package main

// Writing a validated plan to disk without ever leaving the target directory: every parent is
// created one component at a time and must resolve inside the target (a symlink left by an
// earlier layer cannot redirect a write), existing entries are replaced without being
// followed, and inflated bytes are counted against each entry's declared size and CRC.

import (
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// extractionJournal lists the paths extraction created, newest last, so a failure can be undone.
type extractionJournal struct{ created []string }

func (j *extractionJournal) undo() {
	for i := len(j.created) - 1; i >= 0; i-- {
		os.RemoveAll(j.created[i])
	}
	j.created = nil
}

type safeTree struct {
	root, realRoot string
	journal        *extractionJournal
	verified       map[string]bool
}

func newSafeTree(root string, journal *extractionJournal) (*safeTree, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, err
	}
	return &safeTree{root: root, realRoot: real, journal: journal, verified: map[string]bool{"": true}}, nil
}

func (t *safeTree) inside(real string) bool {
	return real == t.realRoot || strings.HasPrefix(real, t.realRoot+string(filepath.Separator))
}

// ensureDir creates dir one component at a time, refusing any that resolves outside.
func (t *safeTree) ensureDir(dir string) error {
	if t.verified[dir] {
		return nil
	}
	parts := strings.Split(dir, "/")
	for i := 1; i <= len(parts); i++ {
		rel := strings.Join(parts[:i], "/")
		if t.verified[rel] {
			continue
		}
		abs := filepath.Join(t.root, rel)
		if keepDirOrDirLink(abs) {
			real, err := filepath.EvalSymlinks(abs)
			if err != nil || !t.inside(real) {
				return zipRefusal("UnsafeSymlink", "Directory '%s' resolves outside the extraction directory", rel)
			}
		} else {
			if err := os.Mkdir(abs, 0o755); err != nil {
				return err
			}
			t.journal.created = append(t.journal.created, abs)
		}
		t.verified[rel] = true
	}
	return nil
}

// keepDirOrDirLink keeps directories and symlinks to directories (earlier layers' trees) and removes anything else.
func keepDirOrDirLink(p string) bool {
	info, err := os.Lstat(p)
	if err != nil {
		return false
	}
	if info.IsDir() {
		return true
	}
	if info.Mode()&os.ModeSymlink != 0 {
		if target, err := os.Stat(p); err == nil && target.IsDir() {
			return true
		}
	}
	os.Remove(p)
	return false
}

func (t *safeTree) write(e PlannedEntry, a *ZipArchive) error {
	abs := filepath.Join(t.root, e.Path)
	parent := path.Dir(e.Path)
	if parent == "." {
		parent = ""
	}
	if err := t.ensureDir(parent); err != nil {
		return err
	}
	if e.Kind == "directory" {
		return t.ensureDir(e.Path)
	}
	if info, err := os.Lstat(abs); err == nil {
		if info.IsDir() {
			os.RemoveAll(abs)
		} else {
			os.Remove(abs)
		}
	}
	t.journal.created = append(t.journal.created, abs)
	if e.Kind == "symlink" {
		return os.Symlink(e.LinkTarget, abs)
	}
	mode := os.FileMode(0o644)
	if e.Executable {
		mode = 0o755
	}
	name := a.Entries[e.Index].Name
	r, zerr := a.reader(e.Index)
	if zerr != nil {
		return zerr
	}
	defer r.Close()
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	defer f.Close()
	h := crc32.NewIEEE()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, e.Size+1))
	if err != nil {
		if _, isWrite := err.(*os.PathError); isWrite {
			return err
		}
		return corruptZip(fmt.Sprintf("entry '%s': %s", name, err))
	}
	if n > e.Size {
		return zipRefusal("SizeMismatch", "Entry '%s' inflates past its declared %d bytes", name, e.Size)
	}
	if n < e.Size {
		return zipRefusal("SizeMismatch", "Entry '%s' holds fewer bytes than its declared %d", name, e.Size)
	}
	if h.Sum32() != a.crc(e.Index) {
		return corruptZip(fmt.Sprintf("CRC mismatch in entry '%s'", name))
	}
	return nil
}

// extractZip writes a validated plan under targetDir, recording what it creates in journal.
func extractZip(a *ZipArchive, plan []PlannedEntry, targetDir string, journal *extractionJournal) error {
	t, err := newSafeTree(targetDir, journal)
	if err != nil {
		return err
	}
	// Symlinks last: nothing in the plan lives under one.
	for _, symlinks := range []bool{false, true} {
		for _, e := range plan {
			if (e.Kind == "symlink") == symlinks {
				if err := t.write(e, a); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
