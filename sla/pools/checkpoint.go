package pools

import (
	"bytes"
	"encoding/gob"
	"errors"

	"github.com/goodwillhq/goodwill/sla"
)

// The book is an sla.Checkpointed: a clean stop saves every pooled candidate's
// memberships and nurture clocks, and the next start puts them back without deriving
// any nurture document.

// checkpointFormat numbers the layout below; another is not read.
const checkpointFormat = 1

// savedEntry is one candidate's entry as a checkpoint holds it, in gob (which keeps
// every field of a clock). There are few pooled candidates next to applications.
type savedEntry struct {
	Candidate   string
	Memberships []Membership
	Clocks      []sla.Clock
}

// SaveCheckpoint writes every pooled candidate's entry (sla.Checkpointed).
func (b *Book) SaveCheckpoint(w *sla.CheckpointWriter) {
	b.mu.Lock()
	list := make([]savedEntry, 0, len(b.candidates))
	for id, e := range b.candidates {
		list = append(list, savedEntry{Candidate: id, Memberships: e.memberships, Clocks: e.clocks})
	}
	var buf bytes.Buffer
	err := gob.NewEncoder(&buf).Encode(list)
	b.mu.Unlock()
	w.Uint(checkpointFormat)
	if err != nil {
		w.Bool(false) // LoadCheckpoint refuses it: the start derives the nurture documents
		return
	}
	w.Bool(true)
	w.Raw(buf.Bytes())
}

// LoadCheckpoint reads what SaveCheckpoint wrote and returns the function that puts
// it in place of the book's contents (sla.Checkpointed).
func (b *Book) LoadCheckpoint(r *sla.CheckpointReader) (func(), error) {
	if f := r.Uint(); f != checkpointFormat {
		return nil, errors.New("pools checkpoint: unknown format")
	}
	if !r.Bool() {
		return nil, errors.New("pools checkpoint: not saved")
	}
	data := r.Raw()
	if err := r.Err(); err != nil {
		return nil, err
	}
	var list []savedEntry
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&list); err != nil {
		return nil, err
	}
	candidates := make(map[string]entry, len(list))
	for _, s := range list {
		candidates[s.Candidate] = entry{memberships: s.Memberships, clocks: s.Clocks}
	}
	return func() {
		b.mu.Lock()
		b.candidates = candidates
		b.mu.Unlock()
	}, nil
}
