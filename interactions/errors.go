package interactions

import (
	"errors"
	"fmt"
)

// Code classifies an error for the people and programs that see it. The HTTP edge maps
// each code to one status; only CodeInternal errors are logged there.
type Code string

// The error codes.
const (
	CodeInvalid     Code = "invalid"     // the request is malformed; Fields say where
	CodeNotFound    Code = "not_found"   // no such object, or the caller may not see it
	CodeConflict    Code = "conflict"    // the object's state forbids the operation
	CodeForbidden   Code = "forbidden"   // the caller's role may not do this
	CodeUnavailable Code = "unavailable" // the store is unreachable; retry later
	CodeInternal    Code = "internal"    // a bug or an unexpected failure
)

// FieldError names one invalid field, e.g. {"interactions[3].kind", "unknown kind"}.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an error users can see: a code, a message, and for CodeInvalid the fields.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
	Err     error // the cause, if any; never shown to users
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a CodeInvalid error naming the fields.
func Invalid(fields ...FieldError) *Error {
	msg := "the request is invalid"
	if len(fields) == 1 {
		msg = fields[0].Field + ": " + fields[0].Message
	}
	return &Error{Code: CodeInvalid, Message: msg, Fields: fields}
}

// Unavailable wraps a store failure: the caller should retry later.
func Unavailable(op string, err error) *Error {
	return &Error{Code: CodeUnavailable, Message: "the store is unavailable; retry later", Err: fmt.Errorf("%s: %w", op, err)}
}

// ErrorCode returns the code of err: the code of the first *Error in its chain, or
// CodeInternal.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}
