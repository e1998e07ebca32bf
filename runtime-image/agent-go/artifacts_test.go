package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// A store answering 503 while it restarts is waited for; any other refusal is final.
func TestFetchArtifactWaitsForAnUnavailableStore(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("zip bytes"))
	}))
	defer srv.Close()
	b, aerr := fetchArtifact(srv.URL+"/code.zip", 1024)
	if aerr != nil {
		t.Fatalf("fetch failed: %s", aerr.Message)
	}
	if string(b) != "zip bytes" || calls != 3 {
		t.Fatalf("got %q after %d calls", b, calls)
	}
}

func TestFetchArtifactDoesNotRetryANotFound(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.WriteHeader(http.StatusNotFound)
	}))
	defer srv.Close()
	_, aerr := fetchArtifact(srv.URL+"/code.zip", 1024)
	if aerr == nil || aerr.Type != ErrorTypeArtifactFetchFailed || calls != 1 {
		t.Fatalf("got %v after %d calls", aerr, calls)
	}
}
