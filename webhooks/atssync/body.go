package atssync

import (
	"bytes"
	"io"
)

// ReadBody reads a vendor API's answer from r, at most max bytes: a longer one is
// ErrBodyTooLarge.
func ReadBody(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, ErrBodyTooLarge
	}
	return b, nil
}

// Snippet is the start of a refusal's body, for its error: at most 200 bytes,
// without the white space around them.
func Snippet(body []byte) string {
	s := bytes.TrimSpace(body)
	if len(s) > 200 {
		s = s[:200]
	}
	return string(s)
}
