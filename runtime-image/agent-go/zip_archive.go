package main

// Reading an archive: the central directory becomes plain ZipEntryInfo records; entry data is
// only inflated on demand, with the inflated size counted, never believed.

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ZipArchive is a parsed archive: entry records plus access to each entry's stored bytes.
type ZipArchive struct {
	Entries []ZipEntryInfo
	files   []*zip.File
}

func kindOf(f *zip.File) string {
	t := (f.ExternalAttrs >> 16) & 0o170000
	switch {
	case t == 0o120000:
		return "symlink"
	case strings.HasSuffix(f.Name, "/") || t == 0o040000:
		return "directory"
	case t == 0 || t == 0o100000:
		return "file"
	default:
		return "special"
	}
}

// openZip parses the central directory; garbage is a CorruptArchive refusal.
func openZip(data []byte) (*ZipArchive, *ZipError) {
	r, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, corruptZip(err.Error())
	}
	a := &ZipArchive{files: r.File}
	for i, f := range r.File {
		info := ZipEntryInfo{
			Name:             f.Name,
			Kind:             kindOf(f),
			UncompressedSize: int64(f.UncompressedSize64),
			Method:           f.Method,
			Encrypted:        f.Flags&1 != 0,
			Mode:             (f.ExternalAttrs >> 16) & 0o7777,
		}
		if info.Kind == "symlink" && info.UncompressedSize <= MaxSymlinkTargetBytes && !info.Encrypted {
			target, zerr := a.inflate(i, info.UncompressedSize)
			if zerr != nil {
				return nil, zerr
			}
			info.LinkTarget = string(target)
		}
		a.Entries = append(a.Entries, info)
	}
	return a, nil
}

// reader streams an entry's inflated bytes (not checked against its size or CRC).
func (a *ZipArchive) reader(index int) (io.ReadCloser, *ZipError) {
	f := a.files[index]
	raw, err := f.OpenRaw()
	if err != nil {
		return nil, corruptZip(err.Error())
	}
	switch f.Method {
	case zip.Store:
		return io.NopCloser(raw), nil
	case zip.Deflate:
		return flate.NewReader(raw), nil
	default:
		return nil, zipRefusal("UnsupportedEntry", "Entry '%s' uses unsupported compression method %d", f.Name, f.Method)
	}
}

func (a *ZipArchive) crc(index int) uint32 { return a.files[index].CRC32 }

// inflate reads one whole entry, refusing one that holds more or fewer bytes than declared.
func (a *ZipArchive) inflate(index int, declared int64) ([]byte, *ZipError) {
	name := a.files[index].Name
	r, zerr := a.reader(index)
	if zerr != nil {
		return nil, zerr
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, declared+1))
	if err != nil {
		return nil, corruptZip(fmt.Sprintf("entry '%s': %s", name, err))
	}
	if int64(len(data)) > declared {
		return nil, zipRefusal("SizeMismatch", "Entry '%s' inflates past its declared %d bytes", name, declared)
	}
	if int64(len(data)) < declared {
		return nil, zipRefusal("SizeMismatch", "Entry '%s' holds fewer bytes than its declared %d", name, declared)
	}
	return data, nil
}
