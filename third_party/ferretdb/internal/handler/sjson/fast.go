// Copyright 2021 FerretDB Inc.
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

package sjson

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/FerretDB/FerretDB/internal/types"
)

// This file decodes documents as Unmarshal does, in one pass over the data and without
// a json.Decoder per value. It handles the JSON that Marshal writes (no whitespace, no
// escapes in keys); for anything else (escaped strings, regexes, timestamps, malformed
// data) it reports false, and the caller decodes the whole document the general way,
// which gives the same result, or the same error, as before.

// schemaCacheSize bounds the number of distinct top-level schemas kept decoded.
const schemaCacheSize = 1024

// schemaCache holds decoded top-level schemas by their JSON text: the documents of a
// collection mostly share a few shapes, and decoding the schema with reflection costs
// as much as decoding the values. Cached schemas are only read.
var schemaCache struct {
	sync.RWMutex
	m map[string]*schema
}

// cachedSchema decodes the top-level schema data as Unmarshal does.
func cachedSchema(data []byte) (*schema, bool) {
	schemaCache.RLock()
	sch := schemaCache.m[string(data)]
	schemaCache.RUnlock()

	if sch != nil {
		return sch, true
	}

	sch = new(schema)
	r := bytes.NewReader(data)
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()

	if err := dec.Decode(sch); err != nil {
		return nil, false
	}

	if err := checkConsumed(dec, r); err != nil {
		return nil, false
	}

	schemaCache.Lock()

	if len(schemaCache.m) >= schemaCacheSize || schemaCache.m == nil {
		schemaCache.m = make(map[string]*schema, schemaCacheSize)
	}

	schemaCache.m[string(data)] = sch
	schemaCache.Unlock()

	return sch, true
}

// fastUnmarshal decodes a top-level document as Unmarshal does, or reports false.
func fastUnmarshal(data []byte) (*types.Document, bool) {
	members, ok := objectMembers(data)
	if !ok {
		return nil, false
	}

	jsch, ok := members["$s"]
	if !ok {
		return nil, false
	}

	sch, ok := cachedSchema(jsch)
	if !ok || len(sch.Keys) != len(members)-1 {
		return nil, false
	}

	d := types.MakeDocument(len(sch.Keys))

	for _, key := range sch.Keys {
		b, ok := members[key]
		if !ok || key == "$s" {
			return nil, false
		}

		v, ok := fastValue(b, sch.Properties[key])
		if !ok {
			return nil, false
		}

		d.Set(key, v)
	}

	return d, true
}

// fastValue decodes a value as unmarshalSingleValue does, or reports false.
func fastValue(data []byte, sch *elem) (any, bool) {
	if string(data) == "null" {
		return types.Null, true
	}

	if sch == nil {
		return nil, false
	}

	switch sch.Type {
	case elemTypeObject:
		if sch.Schema == nil {
			return nil, false
		}

		members, ok := objectMembers(data)
		if !ok {
			return nil, false
		}

		if len(members) == 0 {
			return new(types.Document), true
		}

		if len(sch.Schema.Keys) != len(members) {
			return nil, false
		}

		d := types.MakeDocument(len(sch.Schema.Keys))

		for _, key := range sch.Schema.Keys {
			b, ok := members[key]
			if !ok {
				return nil, false
			}

			v, ok := fastValue(b, sch.Schema.Properties[key])
			if !ok {
				return nil, false
			}

			d.Set(key, v)
		}

		return d, true

	case elemTypeArray:
		elems, ok := arrayElements(data)
		if !ok || len(elems) != len(sch.Items) {
			return nil, false
		}

		a := types.MakeArray(len(elems))

		for i, b := range elems {
			v, ok := fastValue(b, sch.Items[i])
			if !ok {
				return nil, false
			}

			a.Append(v)
		}

		return a, true

	case elemTypeString:
		s, ok := plainString(data)
		if !ok {
			return nil, false
		}

		return string(s), true

	case elemTypeInt:
		if !isInteger(data) {
			return nil, false
		}

		i, err := strconv.ParseInt(string(data), 10, 32)
		if err != nil {
			return nil, false
		}

		return int32(i), true

	case elemTypeLong, elemTypeDate:
		if !isInteger(data) {
			return nil, false
		}

		i, err := strconv.ParseInt(string(data), 10, 64)
		if err != nil {
			return nil, false
		}

		if sch.Type == elemTypeDate {
			// Use .UTC().
			// TODO https://github.com/FerretDB/FerretDB/issues/43
			return time.UnixMilli(i), true
		}

		return i, true

	case elemTypeDouble:
		if !isNumber(data) {
			return nil, false
		}

		f, err := strconv.ParseFloat(string(data), 64)
		if err != nil {
			return nil, false
		}

		return f, true

	case elemTypeBool:
		switch string(data) {
		case "true":
			return true, true
		case "false":
			return false, true
		}

		return nil, false

	case elemTypeBinData:
		s, ok := plainString(data)
		if !ok || sch.Subtype == nil {
			return nil, false
		}

		b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))

		n, err := base64.StdEncoding.Decode(b, s)
		if err != nil {
			return nil, false
		}

		return types.Binary{B: b[:n], Subtype: *sch.Subtype}, true

	case elemTypeObjectID:
		s, ok := plainString(data)
		if !ok || hex.DecodedLen(len(s)) != types.ObjectIDLen {
			return nil, false
		}

		var id types.ObjectID
		if _, err := hex.Decode(id[:], s); err != nil {
			return nil, false
		}

		return id, true

	default: // regexes, timestamps: the general way, one value
		v, err := unmarshalSingleValue(data, sch)
		if err != nil {
			return nil, false
		}

		return v, true
	}
}

// objectMembers splits the JSON object data into its members' values by key. It
// reports false for anything but an object without whitespace whose keys are valid
// UTF-8 without escapes, and appear once.
func objectMembers(data []byte) (map[string][]byte, bool) {
	if len(data) < 2 || data[0] != '{' || data[len(data)-1] != '}' {
		return nil, false
	}

	members := make(map[string][]byte)

	if len(data) == 2 {
		return members, true
	}

	i := 1

	for {
		key, next, ok := stringAt(data, i)
		if !ok || next >= len(data) || data[next] != ':' {
			return nil, false
		}

		end, ok := skipValue(data, next+1)
		if !ok || end >= len(data) {
			return nil, false
		}

		if _, dup := members[string(key)]; dup {
			return nil, false
		}

		members[string(key)] = data[next+1 : end]

		switch data[end] {
		case ',':
			i = end + 1
		case '}':
			return members, end == len(data)-1
		default:
			return nil, false
		}
	}
}

// arrayElements splits the JSON array data into its elements, or reports false.
func arrayElements(data []byte) ([][]byte, bool) {
	if len(data) < 2 || data[0] != '[' || data[len(data)-1] != ']' {
		return nil, false
	}

	if len(data) == 2 {
		return nil, true
	}

	var elems [][]byte

	i := 1

	for {
		end, ok := skipValue(data, i)
		if !ok || end >= len(data) {
			return nil, false
		}

		elems = append(elems, data[i:end])

		switch data[end] {
		case ',':
			i = end + 1
		case ']':
			return elems, end == len(data)-1
		default:
			return nil, false
		}
	}
}

// stringAt returns the contents of the JSON string starting at data[i] and the index
// after it, or false if there is none or it has escapes, control characters or
// invalid UTF-8 (which encoding/json would replace).
func stringAt(data []byte, i int) ([]byte, int, bool) {
	if i >= len(data) || data[i] != '"' {
		return nil, 0, false
	}

	for j := i + 1; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			s := data[i+1 : j]
			return s, j + 1, utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, 0, false
		}
	}

	return nil, 0, false
}

// plainString returns the contents of data, a JSON string as stringAt accepts.
func plainString(data []byte) ([]byte, bool) {
	s, end, ok := stringAt(data, 0)
	return s, ok && end == len(data)
}

// skipValue returns the index after the JSON value starting at data[i]. It checks
// only what it needs to find the end; the value itself is checked when decoded.
func skipValue(data []byte, i int) (int, bool) {
	if i >= len(data) {
		return 0, false
	}

	switch data[i] {
	case '"':
		for j := i + 1; j < len(data); j++ {
			switch data[j] {
			case '\\':
				j++
			case '"':
				return j + 1, true
			}
		}

		return 0, false

	case '{', '[':
		depth := 0

		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				end, ok := skipValue(data, j)
				if !ok {
					return 0, false
				}

				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}

		return 0, false

	default:
		j := i
		for j < len(data) && data[j] != ',' && data[j] != '}' && data[j] != ']' {
			j++
		}

		return j, j > i
	}
}

// isInteger reports whether data is a JSON number without fraction or exponent.
func isInteger(data []byte) bool {
	if len(data) > 0 && data[0] == '-' {
		data = data[1:]
	}

	if len(data) == 0 || (data[0] == '0' && len(data) > 1) {
		return false
	}

	for _, c := range data {
		if c < '0' || c > '9' {
			return false
		}
	}

	return true
}

// isNumber reports whether data is a JSON number, as encoding/json reads it.
func isNumber(data []byte) bool {
	i := 0

	if i < len(data) && data[i] == '-' {
		i++
	}

	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && data[i] >= '1' && data[i] <= '9':
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	default:
		return false
	}

	if i < len(data) && data[i] == '.' {
		i++

		start := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}

		if i == start {
			return false
		}
	}

	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++

		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}

		start := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}

		if i == start {
			return false
		}
	}

	return i == len(data)
}
