// Package wire holds the JSON and SSE primitives the wire formats share.
//
// [CheckKeys] refuses request keys that encoding/json would read but a
// provider would not read the same way; [AppendString] and [AppendEscaped]
// write JSON strings for hand-built output; [SplitField] splits a line of a
// server-sent event stream; [EventQueue] holds the events a stream reader
// decoded from one frame until its Next returns them, and [WriteFrame]
// writes a frame a stream writer encoded. The request-decoding helpers
// ([CheckObjectBody], [Describe], [DecodeList], …) give the client the
// same messages whichever format it speaks.
package wire
