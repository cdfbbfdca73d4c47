package service

import (
	"cmp"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/goodwillhq/goodwill/interactions"
)

// Default page sizes (CONTRACT §2 and §10): the lists that used to answer whole
// (keys, recruiters, policies) default to the most a page holds, so that callers
// reading them whole keep working.
const (
	defaultPageLimit = 100
	maxPageLimit     = 1000
)

// pageRequest reads a list's limit (default def) and cursor, naming the field of
// each that is wrong.
func pageRequest(c *gin.Context, def int) (limit int, after *interactions.Cursor, fields []interactions.FieldError) {
	limit, err := parseLimitDefault(c.Query("limit"), def)
	if err != nil {
		fields = append(fields, interactions.FieldError{Field: "limit", Message: err.Error()})
	}
	if v := c.Query("cursor"); v != "" {
		cur, err := interactions.DecodeCursor(v)
		if err != nil {
			fields = append(fields, interactions.FieldError{Field: "cursor", Message: "is not a cursor this service returned"})
		} else {
			after = &cur
		}
	}
	return limit, after, fields
}

// compareCursors orders positions by time, then id.
func compareCursors(a, b interactions.Cursor) int {
	return cmp.Or(a.T.Compare(b.T), strings.Compare(a.ID, b.ID))
}

// pageOf returns the page of items (sorted ascending by their position, pos) that
// starts after the cursor, at most limit long, and the cursor of the next page (""
// when no item follows). Positions are values, not offsets, so a page does not skip
// or repeat items when others are added or removed before it.
func pageOf[T any](items []T, limit int, after *interactions.Cursor, pos func(*T) interactions.Cursor) ([]T, string) {
	start := 0
	if after != nil {
		for start < len(items) && compareCursors(pos(&items[start]), *after) <= 0 {
			start++
		}
	}
	items = items[start:]
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, interactions.EncodeCursor(pos(&items[len(items)-1]))
}

// listAnswer is a list's answer: the items under name, and next_cursor when more
// exist.
func listAnswer(name string, items any, next string) gin.H {
	h := gin.H{name: items}
	if next != "" {
		h["next_cursor"] = next
	}
	return h
}
