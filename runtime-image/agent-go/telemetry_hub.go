package main

// Delivery of the Telemetry / Logs API: each subscriber's events are buffered and POSTed as a
// JSON array to its listener, one batch at a time, in order. Events of the current Init are
// kept so an extension that subscribes during Init still receives platform.initStart and what
// followed. The hub has its own lock: it is called from the log's pipe readers too.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"
)

const (
	maxInitBacklog        = 10_000
	telemetryDeliveryWait = 10 * time.Second
)

var telemetryClient = &http.Client{Timeout: telemetryDeliveryWait}

type subscriber struct {
	extensionID  string
	subscription *Subscription
	buffer       telemetryBuffer
	timer        *time.Timer
	last         chan struct{} // closed when the batches sent so far are answered
}

func newSubscriber(extensionID string, s *Subscription) *subscriber {
	done := make(chan struct{})
	close(done)
	return &subscriber{extensionID: extensionID, subscription: s, buffer: telemetryBuffer{buffering: s.Buffering}, last: done}
}

// TelemetryHub fans events out to the subscribers.
type TelemetryHub struct {
	mu          sync.Mutex
	subscribers []*subscriber
	initBacklog []TelemetryEvent
	initOpen    bool
}

// active: someone listens (callers skip building records otherwise).
func (h *TelemetryHub) active() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subscribers) > 0 || h.initOpen
}

func (h *TelemetryHub) emit(eventType string, record any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subscribers) == 0 && !h.initOpen {
		return
	}
	e := TelemetryEvent{isoTime(time.Now()), eventType, record}
	if h.initOpen && len(h.initBacklog) < maxInitBacklog {
		h.initBacklog = append(h.initBacklog, e)
	}
	for _, s := range h.subscribers {
		h.offer(s, e)
	}
}

func (h *TelemetryHub) offer(s *subscriber, e TelemetryEvent) {
	if !contains(s.subscription.Types, categoryOf(e.Type)) {
		return
	}
	events := []TelemetryEvent{e}
	if s.subscription.Flavour == "logs" {
		events = asLogsAPIEvents(e)
	}
	for _, ev := range events {
		if s.buffer.push(ev) {
			h.flushLocked(s)
		} else if s.timer == nil {
			s.timer = time.AfterFunc(time.Duration(s.subscription.Buffering.TimeoutMs)*time.Millisecond, func() {
				h.mu.Lock()
				h.flushLocked(s)
				h.mu.Unlock()
			})
		}
	}
}

// flushLocked sends what is buffered after the batches before it; returns when-all-answered.
func (h *TelemetryHub) flushLocked(s *subscriber) chan struct{} {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if len(s.buffer.events) == 0 {
		return s.last
	}
	batch := s.buffer.take()
	prev, done := s.last, make(chan struct{})
	s.last = done
	url := s.subscription.URL
	go func() {
		<-prev
		postBatch(url, batch)
		close(done)
	}()
	return done
}

func postBatch(url string, batch []TelemetryEvent) {
	body, _ := json.Marshal(batch)
	res, err := telemetryClient.Post(url, "application/json", bytes.NewReader(body))
	if err == nil {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode >= 300 {
			err = &AgentError{Message: "status " + res.Status}
		}
	}
	if err != nil {
		agentLog("warn", "telemetry batch not delivered", "url", url, "events", len(batch), "error", err.Error())
	}
}

// beginInit: the previous environment's subscriptions end, this Init's events are kept.
func (h *TelemetryHub) beginInit() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.subscribers {
		if s.timer != nil {
			s.timer.Stop()
		}
	}
	h.subscribers = nil
	h.initBacklog = nil
	h.initOpen = true
}

func (h *TelemetryHub) endInit() {
	h.mu.Lock()
	h.initBacklog, h.initOpen = nil, false
	h.mu.Unlock()
}

// subscribe replaces the extension's subscription of this flavour and replays the current Init's events.
func (h *TelemetryHub) subscribe(extensionID string, s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	kept := h.subscribers[:0]
	for _, old := range h.subscribers {
		if old.extensionID == extensionID && old.subscription.Flavour == s.Flavour {
			if old.timer != nil {
				old.timer.Stop()
			}
			continue
		}
		kept = append(kept, old)
	}
	sub := newSubscriber(extensionID, s)
	h.subscribers = append(kept, sub)
	for _, e := range h.initBacklog {
		h.offer(sub, e)
	}
}

// flush sends every buffered event now and waits for the answers.
func (h *TelemetryHub) flush() {
	h.mu.Lock()
	var waits []chan struct{}
	for _, s := range h.subscribers {
		waits = append(waits, h.flushLocked(s))
	}
	h.mu.Unlock()
	for _, w := range waits {
		<-w
	}
}
