package main

import (
	"strings"
	"testing"
)

func configWith(old, replacement string) []byte {
	return []byte(strings.Replace(validConfig, old, replacement, 1))
}

func TestConfigAcceptsPublishedVersionsFileURLsAndFiveLayers(t *testing.T) {
	layer := `{"url":"file:///layers/a.zip","sha256":"` + strings.Repeat("b", 64) + `"}`
	layers := `"layers":[` + strings.Repeat(layer+",", 4) + layer + `],"version":"12"`
	c, err := parseFunctionConfigJSON(configWith(`"version":"$LATEST"`, layers))
	if err != nil || len(c.Layers) != 5 || c.Version != "12" {
		t.Fatalf("got %+v, %v", c, err)
	}
	if _, err := parseFunctionConfigJSON(configWith(`"timeout":3`, `"timeout":3,"environment":{"PATH":"/ok","LANG":"C"}`)); err != nil {
		t.Errorf("unreserved variables refused: %v", err)
	}
}

func TestConfigRefusals(t *testing.T) {
	sixLayers := `"layers":[` + strings.Repeat(`{"url":"http://s/x","sha256":"`+strings.Repeat("a", 64)+`"},`, 5) +
		`{"url":"http://s/x","sha256":"` + strings.Repeat("a", 64) + `"}],"timeout":3`
	cases := map[string][]byte{
		"code.sha256: ": configWith(`"sha256":"0123`, `"sha256":"ABC","x":"0123`),
		"code.url: ":    configWith(`"url":"http://store/blobs/sha256/x"`, `"url":"ftp://x/y"`),
		"layers: ":      configWith(`"timeout":3`, sixLayers),
		"timeout: ":     configWith(`"timeout":3`, `"timeout":901`),
		"version: ":     configWith(`"version":"$LATEST"`, `"version":"latest"`),
	}
	for field, text := range cases {
		_, err := parseFunctionConfigJSON(text)
		if err == nil || !strings.Contains(err.Message, field) {
			t.Errorf("%s: got %v", field, err)
		}
	}
	_, err := parseFunctionConfigJSON(configWith(`"timeout":3`, `"timeout":3,"environment":{"TZ":"x","_HANDLER":"y","PATH":"/ok"}`))
	if err == nil || !strings.Contains(err.Message, "Reserved keys used in this request: ") ||
		!strings.Contains(err.Message, "TZ") || !strings.Contains(err.Message, "_HANDLER") || strings.Contains(err.Message, "PATH") {
		t.Errorf("reserved keys: %v", err)
	}
}
