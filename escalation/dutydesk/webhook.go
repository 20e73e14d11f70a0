package dutydesk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Alert is the JSON body POSTed to the webhook when a round of the chain is exhausted.
type Alert struct {
	Type       string `json:"type"` // "escalation.exhausted"
	CaseID     int64  `json:"case_id"`
	CaseNumber string `json:"case_number"`
	CaseKind   string `json:"case_kind,omitempty"`
	// CallerLanguage is the caller's language (zh, en) when a caller rang in.
	CallerLanguage string    `json:"caller_language,omitempty"`
	Trigger        string    `json:"trigger"` // ivr or desk
	Round          int       `json:"round"`
	Final          bool      `json:"final"`    // no round follows: a person must act now
	Officers       int       `json:"officers"` // how many officers the round called
	CallerWaiting  bool      `json:"caller_waiting"`
	At             time.Time `json:"at"`
}

// Webhook POSTs alerts as JSON, with a bearer token when one is set. 5xx answers, 429 and
// transport errors are retried; other 4xx answers are not (the request is wrong).
type Webhook struct {
	URL   string
	Token string // sent as "Authorization: Bearer <token>"; from the environment only
	// Timeout bounds one attempt. Default 5s.
	Timeout time.Duration
	// Attempts is how many times one alert is tried. Default 3.
	Attempts int
	// Backoff is the pause after the first failed attempt, doubled after each. Default 1s.
	Backoff time.Duration
	Client  *http.Client // default: a client with no other timeout than Timeout
}

// NewWebhook checks the URL and returns the webhook with its defaults.
func NewWebhook(rawURL, token string) (*Webhook, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("alert webhook url %q: want an http or https URL", rawURL)
	}
	return &Webhook{URL: rawURL, Token: token}, nil
}

// errPermanent marks an answer that retrying cannot change.
var errPermanent = errors.New("not retried")

// Alert sends a, retrying per the webhook's policy; the error says what the last attempt got.
func (w *Webhook) Alert(ctx context.Context, a Alert) error {
	body, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("alert webhook: encode: %w", err)
	}
	attempts, backoff := w.Attempts, w.Backoff
	if attempts <= 0 {
		attempts = 3
	}
	if backoff <= 0 {
		backoff = time.Second
	}
	for i := 1; ; i++ {
		err = w.post(ctx, body)
		if err == nil {
			return nil
		}
		if errors.Is(err, errPermanent) || i >= attempts {
			return fmt.Errorf("alert webhook, attempt %d of %d: %w", i, attempts, err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("alert webhook, attempt %d of %d: %w (then %w)", i, attempts, err, ctx.Err())
		case <-t.C:
		}
		backoff *= 2
	}
}

func (w *Webhook) post(ctx context.Context, body []byte) error {
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %w", err, errPermanent)
	}
	req.Header.Set("Content-Type", "application/json")
	if w.Token != "" {
		req.Header.Set("Authorization", "Bearer "+w.Token)
	}
	client := w.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return fmt.Errorf("status %d: %w", resp.StatusCode, errPermanent)
}
