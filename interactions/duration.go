package interactions

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Duration is a duration in the API's notation: `^(\d+d)?(\d+h)?(\d+m)?(\d+s)?$`,
// e.g. "2d", "36h", "30m", "1d12h". Days are kept apart from the rest because on a
// business calendar "2d" means two business days, not 48 hours.
type Duration struct {
	Days int
	Rest time.Duration // hours, minutes and seconds
}

var durationRE = regexp.MustCompile(`^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$`)

// maxDurationPart bounds each number, and the hours of the hours, minutes and seconds
// together, so that a duration always fits in time.Duration and its String parses back.
const maxDurationPart = 100000

// ParseDuration parses the API's duration notation. The empty string and "0" are
// rejected; use "0s" for zero.
func ParseDuration(s string) (Duration, error) {
	m := durationRE.FindStringSubmatch(s)
	if s == "" || m == nil {
		return Duration{}, fmt.Errorf("%q is not a duration like 2d, 36h, 30m or 4s", s)
	}
	var n [4]int
	for i := range n {
		if m[i+1] == "" {
			continue
		}
		v, err := strconv.Atoi(m[i+1])
		if err != nil || v > maxDurationPart {
			return Duration{}, fmt.Errorf("%q is too large", s)
		}
		n[i] = v
	}
	d := Duration{
		Days: n[0],
		Rest: time.Duration(n[1])*time.Hour + time.Duration(n[2])*time.Minute + time.Duration(n[3])*time.Second,
	}
	if d.Rest/time.Hour > maxDurationPart {
		// Its String would carry more hours than ParseDuration reads back (a stored
		// policy could not be loaded again).
		return Duration{}, fmt.Errorf("%q is too large", s)
	}
	return d, nil
}

// MustParseDuration is ParseDuration for constants; it panics on a bad value.
func MustParseDuration(s string) Duration {
	d, err := ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return d
}

// Wall is the duration in wall-clock time, a day counted as 24 hours.
func (d Duration) Wall() time.Duration { return time.Duration(d.Days)*24*time.Hour + d.Rest }

// IsZero reports whether the duration is zero.
func (d Duration) IsZero() bool { return d.Days == 0 && d.Rest == 0 }

// String renders the duration in the API's notation, e.g. "1d2h30m".
func (d Duration) String() string {
	if d.IsZero() {
		return "0s"
	}
	s := ""
	if d.Days > 0 {
		s += strconv.Itoa(d.Days) + "d"
	}
	r := d.Rest
	for _, u := range []struct {
		unit time.Duration
		sym  string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := r / u.unit; n > 0 {
			s += strconv.FormatInt(int64(n), 10) + u.sym
			r -= n * u.unit
		}
	}
	return s
}

// MarshalJSON renders the duration as a JSON string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON parses a JSON string in the API's notation.
func (d *Duration) UnmarshalJSON(b []byte) error {
	// A *json.UnmarshalTypeError lets encoding/json name the field.
	bad := &json.UnmarshalTypeError{Value: "duration " + string(b), Type: reflect.TypeFor[Duration]()}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return bad
	}
	v, err := ParseDuration(s)
	if err != nil {
		return bad
	}
	*d = v
	return nil
}

// MarshalBSONValue stores the duration as a string in the API's notation.
func (d Duration) MarshalBSONValue() (byte, []byte, error) {
	t, b, err := bson.MarshalValue(d.String())
	return byte(t), b, err
}

// UnmarshalBSONValue reads a duration stored by MarshalBSONValue.
func (d *Duration) UnmarshalBSONValue(typ byte, data []byte) error {
	var s string
	if err := bson.UnmarshalValue(bson.Type(typ), data, &s); err != nil {
		return err
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
