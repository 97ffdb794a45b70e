package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// SplitField splits line, a line of a server-sent event stream without its
// line ending, into a field name and value: the value is what follows the
// first colon, less one leading space. A line without a colon is a name with
// an empty value. Comment lines (those starting with a colon) are the
// caller's to skip.
func SplitField(line []byte) (name, value []byte) {
	i := bytes.IndexByte(line, ':')
	if i < 0 {
		return line, nil
	}
	name, value = line[:i], line[i+1:]
	if len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	return name, value
}

// ErrStreamEnded is returned by a stream writer asked to write after the
// stream's end (its final event or an error) went out.
var ErrStreamEnded = errors.New("couldn't write stream: it has already ended")

// WriteFrame writes one encoded frame of a stream to w, in one Write call.
func WriteFrame(w io.Writer, frame []byte) error {
	if _, err := w.Write(frame); err != nil {
		return fmt.Errorf("couldn't write stream: %w", err)
	}
	return nil
}

// MaxFrame bounds one SSE frame a stream reader reads from a provider, so
// that a provider cannot make the gateway buffer without limit.
const MaxFrame = 16 << 20
