package main

import (
	"sync"
	"time"
)

// monitor is the one lock over the runtime side's state (Runtime API, Extensions API,
// supervisor) with a broadcast on every change: a waiter re-checks its condition whenever
// something changed, as the single-threaded original re-checked after every event.
type monitor struct {
	mu sync.Mutex
	ch chan struct{}
}

func newMonitor() *monitor { return &monitor{ch: make(chan struct{})} }

func (m *monitor) Lock()   { m.mu.Lock() }
func (m *monitor) Unlock() { m.mu.Unlock() }

// broadcast wakes every waiter; the lock is held.
func (m *monitor) broadcast() {
	close(m.ch)
	m.ch = make(chan struct{})
}

// until waits (lock not held) for cond (evaluated under the lock) or the deadline; true when cond held.
// A zero deadline waits forever.
func (m *monitor) until(cond func() bool, deadline time.Time) bool {
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		timeout = t.C
	}
	for {
		m.mu.Lock()
		if cond() {
			m.mu.Unlock()
			return true
		}
		ch := m.ch
		m.mu.Unlock()
		select {
		case <-ch:
		case <-timeout:
			m.mu.Lock()
			ok := cond()
			m.mu.Unlock()
			return ok
		}
	}
}
