package interactions

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// eventCodes is the BSON of an application's events as the projector last wrote
// them (each one's document, in order), with the slice they were encoded from. On the
// live path an application is replaced once per new event, and encoding every
// earlier event again each time cost more than the rest of the document.
type eventCodes struct {
	events []Interaction // the slice encoded: the cached application's Events
	docs   [][]byte
}

// of reports whether c was encoded from exactly events (the same backing array and
// length): an application's events never change once derived (MergeEvents copies into
// a new slice), so then docs are their encoding.
func (c eventCodes) of(events []Interaction) bool {
	return len(c.events) > 0 && len(c.events) == len(events) && &c.events[0] == &events[0]
}

// encodeApplication returns app as stored (bson.Marshal(app) byte for byte), reusing
// the encoding of the events of prev, the events app had when last written, where
// prev's docs are theirs (prev.of(old)). It returns app's codes for the next time.
func encodeApplication(app Application, old []Interaction, prev eventCodes) (bson.Raw, eventCodes, error) {
	reuse := prev.of(old)
	docs := make([][]byte, len(app.Events))
	j := 0 // in old: both are sorted, and old's events are among app's
	for i := range app.Events {
		if reuse && j < len(old) && old[j].ID == app.Events[i].ID {
			docs[i] = prev.docs[j]
			j++
			continue
		}
		b, err := bson.Marshal(app.Events[i])
		if err != nil {
			return nil, eventCodes{}, err
		}
		docs[i] = b
	}
	// The rest of the document as the codec writes it, its events element (the
	// last field, holding nothing here) replaced by the binary value EventList writes:
	// the document {"e": [events]}, built in place.
	rest := app
	rest.Events = nil
	raw, err := bson.Marshal(rest)
	if err != nil {
		return nil, eventCodes{}, err
	}
	elems, err := bsoncore.Document(raw).Elements()
	if err != nil {
		return nil, eventCodes{}, err
	}
	size := len(raw) + 32
	for _, d := range docs {
		size += len(d) + 8
	}
	idx, doc := bsoncore.AppendDocumentStart(make([]byte, 0, size))
	found := false
	for _, e := range elems {
		if e.Key() != "events" {
			doc = append(doc, e...)
			continue
		}
		found = true
		doc = bsoncore.AppendHeader(doc, bsoncore.TypeBinary, "events")
		at := len(doc)
		doc = append(doc, 0, 0, 0, 0, bson.TypeBinaryGeneric) // length, set below
		var sidx, lidx int32
		sidx, doc = bsoncore.AppendDocumentStart(doc)
		lidx, doc = bsoncore.AppendArrayElementStart(doc, "e")
		for i, d := range docs {
			doc = bsoncore.AppendDocumentElement(doc, strconv.Itoa(i), d)
		}
		if doc, err = bsoncore.AppendArrayEnd(doc, lidx); err != nil {
			return nil, eventCodes{}, err
		}
		if doc, err = bsoncore.AppendDocumentEnd(doc, sidx); err != nil {
			return nil, eventCodes{}, err
		}
		binary.LittleEndian.PutUint32(doc[at:], uint32(len(doc)-at-5))
	}
	if !found {
		return nil, eventCodes{}, fmt.Errorf("application %s: no events element", app.ID)
	}
	if doc, err = bsoncore.AppendDocumentEnd(doc, idx); err != nil {
		return nil, eventCodes{}, err
	}
	return doc, eventCodes{events: app.Events, docs: docs}, nil
}

// replacement is app's document for replaceAll: its events as last written keep
// their encoding (p.codes), only the new ones are encoded. It falls back to app
// itself, for the driver to encode, when the encoding fails.
func (p *Projector) replacement(app Application) any {
	doc, codes, err := encodeApplication(app, p.apps[app.ID].Events, p.codes[app.ID])
	if err != nil {
		delete(p.codes, app.ID)
		return app
	}
	if len(p.codes) >= maxCachedApps {
		clear(p.codes) // bounded like the application cache
	}
	p.codes[app.ID] = codes
	return doc
}
