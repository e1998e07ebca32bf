package main

import "testing"

func file(name string, size int64) ZipEntryInfo {
	return ZipEntryInfo{Name: name, Kind: "file", UncompressedSize: size, Method: 8, Mode: 0o644}
}

func TestZipRefusals(t *testing.T) {
	cases := []struct {
		what    string
		entries []ZipEntryInfo
		reason  string
	}{
		{"path traversal", []ZipEntryInfo{file("../x", 1)}, "PathTraversal"},
		{"absolute path", []ZipEntryInfo{file("/etc/x", 1)}, "AbsolutePath"},
		{"drive letter", []ZipEntryInfo{file(`C:\x`, 1)}, "AbsolutePath"},
		{"duplicate after normalising", []ZipEntryInfo{file("a.js", 1), file("./a.js", 1)}, "DuplicateEntry"},
		{"symlink out", []ZipEntryInfo{{Name: "l", Kind: "symlink", LinkTarget: "../../etc", UncompressedSize: 9}}, "UnsafeSymlink"},
		{"entry below a symlink", []ZipEntryInfo{{Name: "d", Kind: "symlink", LinkTarget: ".", UncompressedSize: 1}, file("d/x", 1)}, "UnsafeSymlink"},
		{"symlink through a symlink", []ZipEntryInfo{
			{Name: "a", Kind: "symlink", LinkTarget: "b", UncompressedSize: 1},
			{Name: "c", Kind: "symlink", LinkTarget: "a/x", UncompressedSize: 3}}, "UnsafeSymlink"},
		{"file and directory", []ZipEntryInfo{file("a", 1), file("a/b", 1)}, "DuplicateEntry"},
		{"too large", []ZipEntryInfo{file("big", 2000)}, "UnzippedSizeTooLarge"},
		{"encrypted", []ZipEntryInfo{{Name: "e", Kind: "file", Encrypted: true}}, "UnsupportedEntry"},
		{"special", []ZipEntryInfo{{Name: "fifo", Kind: "special"}}, "UnsupportedEntry"},
		{"method", []ZipEntryInfo{{Name: "m", Kind: "file", Method: 12}}, "UnsupportedEntry"},
	}
	for _, c := range cases {
		_, _, err := validateZipEntries(c.entries, MaxZipEntries, 1000, 0)
		if err == nil || err.Reason != c.reason {
			t.Errorf("%s: want %s, got %v", c.what, c.reason, err)
		}
	}
}

func TestZipPlanKeepsSafeLinksAndCountsBytes(t *testing.T) {
	plan, total, err := validateZipEntries([]ZipEntryInfo{
		{Name: "lib/", Kind: "directory"},
		file("lib/libfoo.so.1", 10),
		{Name: "lib/libfoo.so", Kind: "symlink", LinkTarget: "libfoo.so.1", UncompressedSize: 11},
		{Name: "bootstrap", Kind: "file", Method: 0, Mode: 0o755, UncompressedSize: 5},
		{Name: "./", Kind: "directory"},
	}, MaxZipEntries, 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan) != 4 || total != 26 || !plan[3].Executable || plan[0].Path != "lib" {
		t.Fatalf("unexpected plan %+v (total %d)", plan, total)
	}
}

func TestZipBudgetCountsEarlierArchives(t *testing.T) {
	if _, _, err := validateZipEntries([]ZipEntryInfo{file("a", 10)}, MaxZipEntries, 100, 95); err == nil || err.Reason != "UnzippedSizeTooLarge" {
		t.Fatalf("got %v", err)
	}
}
