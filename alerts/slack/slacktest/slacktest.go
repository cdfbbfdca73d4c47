// Package slacktest is a fake of the part of Slack's Web API that goodwill uses —
// conversations.open, chat.postMessage, chat.update, users.lookupByEmail and
// conversations.history — with Slack's answer shapes (ok:true, ok:false with an error
// code, 429 with Retry-After), and of an interaction's response_url. Tests script
// faults per method with Fail, and build signed button clicks on the messages posted
// with Click and Signed.
package slacktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is a scripted answer to one call of a method.
type Fault struct {
	Status     int    // an HTTP status other than 200 (429 sends Retry-After)
	RetryAfter int    // seconds, for a 429
	Error      string // an ok:false error code, with status 200
	// Hold delays the call until Hold is closed, and it then goes through; for
	// chat.postMessage the message is posted first and only the answer waits (a crash
	// between the post and its record is a Hold never closed).
	Hold chan struct{}
	// Lost, for chat.postMessage: the message is posted, and the answer lost on the
	// way back (a 504 from a proxy in between).
	Lost bool
}

// Message is a message posted in a DM.
type Message struct {
	Channel  string          // "D" and the user's id
	TS       string          // its timestamp id
	Text     string          // the plain text
	Blocks   json.RawMessage // the Block Kit blocks, as posted (or last updated)
	Metadata json.RawMessage // the metadata, as posted
	Updated  int             // how many times chat.update changed it
	At       time.Time       // when it was posted
}

// Ephemeral is a message sent to an interaction's response_url.
type Ephemeral struct {
	ID   string // the id in the response_url
	Body map[string]any
}

// Server is the fake. Its zero value is not usable: call New.
type Server struct {
	*httptest.Server
	Token string
	// OnPost, if set, is called as each message is posted, with the user it went to.
	OnPost func(user string)

	mu         sync.Mutex
	users      map[string]string // id → email
	disabled   map[string]bool
	messages   map[string][]*Message // by channel, oldest first
	faults     map[string][]Fault
	calls      map[string]int
	ephemerals []Ephemeral
	seq        int64
}

// New starts a fake that accepts the bot token token. Close it when done.
func New(token string) *Server {
	s := &Server{Token: token, users: map[string]string{}, disabled: map[string]bool{},
		messages: map[string][]*Message{}, faults: map[string][]Fault{}, calls: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/{method}", s.serveAPI)
	mux.HandleFunc("POST /respond/{id}", s.serveRespond)
	s.Server = httptest.NewServer(mux)
	return s
}

// APIURL is the URL to give the client as Slack's Web API.
func (s *Server) APIURL() string { return s.URL + "/api/" }

// ResponseURL is a response_url for a click, answered by the fake.
func (s *Server) ResponseURL(id string) string { return s.URL + "/respond/" + url.PathEscape(id) }

// AddUser adds a workspace member with that email.
func (s *Server) AddUser(id, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[id] = email
}

// Disable deactivates a user: their DM cannot be opened (user_disabled) nor posted
// to (account_inactive).
func (s *Server) Disable(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.disabled[id] = true
}

// Fail scripts the answers of the next calls of a method (e.g. "chat.postMessage").
func (s *Server) Fail(method string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method] = append(s.faults[method], faults...)
}

// Calls returns how many times a method was called.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// Messages returns copies of the messages in a user's DM, oldest first.
func (s *Server) Messages(user string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages["D"+user] {
		out = append(out, *m)
	}
	return out
}

// Ephemerals returns what was sent to response_urls.
func (s *Server) Ephemerals() []Ephemeral {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ephemerals)
}

func (s *Server) serveRespond(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.ephemerals = append(s.ephemerals, Ephemeral{ID: r.PathValue("id"), Body: body})
	s.mu.Unlock()
	_, _ = w.Write([]byte("ok"))
}

// answer writes Slack's JSON answer.
func answer(w http.ResponseWriter, v map[string]any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func refuse(w http.ResponseWriter, code string) {
	answer(w, map[string]any{"ok": false, "error": code})
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	if err := r.ParseForm(); err != nil {
		refuse(w, "invalid_form_data")
		return
	}
	token := r.PostForm.Get("token")
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		token = strings.TrimPrefix(h, "Bearer ")
	}
	s.mu.Lock()
	s.calls[method]++
	var f *Fault
	if q := s.faults[method]; len(q) > 0 {
		f, s.faults[method] = &q[0], q[1:]
	}
	s.mu.Unlock()
	if token != s.Token {
		refuse(w, "invalid_auth")
		return
	}
	if f != nil && f.Hold == nil && !f.Lost {
		switch {
		case f.Status == http.StatusTooManyRequests:
			w.Header().Set("Retry-After", strconv.Itoa(max(f.RetryAfter, 1)))
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"ok":false,"error":"ratelimited"}`))
		case f.Status != 0:
			http.Error(w, "<html>upstream error</html>", f.Status)
		default:
			refuse(w, f.Error)
		}
		return
	}
	if f != nil && f.Hold != nil && method != "chat.postMessage" {
		select {
		case <-f.Hold:
		case <-r.Context().Done():
			return
		}
	}
	switch method {
	case "users.lookupByEmail":
		s.lookupByEmail(w, r.PostForm.Get("email"))
	case "conversations.open":
		s.open(w, r.PostForm.Get("users"))
	case "chat.postMessage":
		var hold chan struct{}
		lost := false
		if f != nil {
			hold, lost = f.Hold, f.Lost
		}
		s.post(w, r.PostForm, hold, lost)
	case "chat.update":
		s.update(w, r.PostForm)
	case "conversations.history":
		s.history(w, r.PostForm)
	default:
		refuse(w, "unknown_method")
	}
}

func (s *Server) lookupByEmail(w http.ResponseWriter, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, e := range s.users {
		if strings.EqualFold(e, email) {
			answer(w, map[string]any{"ok": true, "user": map[string]any{"id": id, "deleted": s.disabled[id],
				"profile": map[string]any{"email": e}}})
			return
		}
	}
	refuse(w, "users_not_found")
}

func (s *Server) open(w http.ResponseWriter, users string) {
	s.mu.Lock()
	_, known := s.users[users]
	disabled := s.disabled[users]
	s.mu.Unlock()
	switch {
	case users == "" || strings.Contains(users, ","):
		refuse(w, "invalid_arguments")
	case !known:
		refuse(w, "user_not_found")
	case disabled:
		refuse(w, "user_disabled")
	default:
		answer(w, map[string]any{"ok": true, "channel": map[string]any{"id": "D" + users}})
	}
}

// dmUser returns the user of a DM channel id, if it is one the fake knows.
func (s *Server) dmUser(channel string) (string, bool) {
	user, ok := strings.CutPrefix(channel, "D")
	if !ok {
		return "", false
	}
	_, known := s.users[user]
	return user, known
}

func (s *Server) post(w http.ResponseWriter, form url.Values, hold chan struct{}, lost bool) {
	channel := form.Get("channel")
	blocks := json.RawMessage(form.Get("blocks"))
	var parsed []map[string]any
	if len(blocks) > 0 && (json.Unmarshal(blocks, &parsed) != nil || len(parsed) > 50) {
		answer(w, map[string]any{"ok": false, "error": "invalid_blocks",
			"response_metadata": map[string]any{"messages": []string{"[ERROR] invalid blocks"}}})
		return
	}
	if form.Get("text") == "" && len(parsed) == 0 {
		refuse(w, "no_text")
		return
	}
	var metadata json.RawMessage
	if md := form.Get("metadata"); md != "" {
		if !json.Valid([]byte(md)) {
			refuse(w, "invalid_metadata_format")
			return
		}
		metadata = json.RawMessage(md)
	}
	s.mu.Lock()
	user, ok := s.dmUser(channel)
	disabled := s.disabled[user]
	if !ok || disabled {
		s.mu.Unlock()
		if disabled {
			refuse(w, "account_inactive")
		} else {
			refuse(w, "channel_not_found")
		}
		return
	}
	s.seq++
	m := &Message{Channel: channel, TS: fmt.Sprintf("%d.%06d", time.Now().Unix(), s.seq), Text: form.Get("text"),
		Blocks: blocks, Metadata: metadata, At: time.Now()}
	s.messages[channel] = append(s.messages[channel], m)
	onPost := s.OnPost
	s.mu.Unlock()
	if onPost != nil {
		onPost(user)
	}
	if hold != nil {
		<-hold
	}
	if lost {
		http.Error(w, "<html>gateway timeout</html>", http.StatusGatewayTimeout)
		return
	}
	answer(w, map[string]any{"ok": true, "channel": channel, "ts": m.TS, "message": map[string]any{"text": m.Text}})
}

func (s *Server) update(w http.ResponseWriter, form url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.messages[form.Get("channel")] {
		if m.TS == form.Get("ts") {
			if b := form.Get("blocks"); b != "" {
				m.Blocks = json.RawMessage(b)
			}
			if t := form.Get("text"); t != "" {
				m.Text = t
			}
			m.Updated++
			answer(w, map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS, "text": m.Text})
			return
		}
	}
	refuse(w, "message_not_found")
}

// historyPage is how many messages a page of conversations.history holds at most.
const historyPage = 100

func (s *Server) history(w http.ResponseWriter, form url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	channel := form.Get("channel")
	if _, ok := s.dmUser(channel); !ok {
		refuse(w, "channel_not_found")
		return
	}
	oldest, _ := strconv.ParseFloat(form.Get("oldest"), 64)
	withMetadata := form.Get("include_all_metadata") == "1" || form.Get("include_all_metadata") == "true"
	var all []map[string]any // newest first, as Slack lists them
	list := s.messages[channel]
	for i := len(list) - 1; i >= 0; i-- {
		m := list[i]
		if ts, _ := strconv.ParseFloat(m.TS, 64); ts < oldest {
			continue
		}
		msg := map[string]any{"type": "message", "ts": m.TS, "text": m.Text}
		if withMetadata && m.Metadata != nil {
			msg["metadata"] = m.Metadata
		}
		all = append(all, msg)
	}
	start, _ := strconv.Atoi(form.Get("cursor"))
	limit, _ := strconv.Atoi(form.Get("limit"))
	limit = min(max(limit, 1), historyPage)
	end := min(start+limit, len(all))
	if start > end {
		start = end
	}
	more := end < len(all)
	next := ""
	if more {
		next = strconv.Itoa(end)
	}
	answer(w, map[string]any{"ok": true, "messages": all[start:end], "has_more": more,
		"response_metadata": map[string]any{"next_cursor": next}})
}

// Click returns the body Slack posts to the interactivity URL when user clicks the
// button actionID of the alert alertID in message m (a block_actions payload, form
// field "payload"); the response_url is the fake's, with id respond.
func (s *Server) Click(m Message, user, actionID, alertID, respond string) []byte {
	blockID := ""
	var blocks []map[string]any
	_ = json.Unmarshal(m.Blocks, &blocks)
	for _, b := range blocks {
		if b["type"] != "actions" {
			continue
		}
		els, _ := b["elements"].([]any)
		for _, e := range els {
			if el, _ := e.(map[string]any); el["action_id"] == actionID && el["value"] == alertID {
				blockID, _ = b["block_id"].(string)
			}
		}
	}
	payload := map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": user, "username": strings.ToLower(user)},
		"api_app_id":   "A0GOODWILL",
		"container":    map[string]any{"type": "message", "message_ts": m.TS, "channel_id": m.Channel, "is_ephemeral": false},
		"channel":      map[string]any{"id": m.Channel, "name": "directmessage"},
		"message":      map[string]any{"type": "message", "ts": m.TS, "text": m.Text, "blocks": json.RawMessage(m.Blocks)},
		"response_url": s.ResponseURL(respond),
		"actions": []any{map[string]any{"type": "button", "action_id": actionID, "block_id": blockID, "value": alertID,
			"action_ts": fmt.Sprintf("%d.000000", time.Now().Unix())}},
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		panic(err)
	}
	return []byte(url.Values{"payload": {string(raw)}}.Encode())
}

// Signed returns the headers Slack sends with body at the moment at, signed with the
// app's signing secret: X-Slack-Request-Timestamp and X-Slack-Signature ("v0=" and the
// HMAC-SHA256 of "v0:<timestamp>:<body>").
func Signed(secret string, body []byte, at time.Time) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "v0:%s:%s", ts, body)
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(m.Sum(nil)))
	return h
}
