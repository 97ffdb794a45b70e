package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"k8s.io/klog/v2"
)

// TestTesseraLog checks that klog lines (Tessera's) go to the log of the
// latest serve run, with its attributes and klog's key-value pairs, even
// through a klog logger taken during an earlier run: klog's logger is set
// once per process and follows each run, so a second serve run in the same
// process need not set it again (racing the first run's Tessera
// goroutines).
func TestTesseraLog(t *testing.T) {
	var first, second bytes.Buffer
	logTesseraTo(slog.New(slog.NewJSONHandler(&first, nil)).With("component", "tessera"))
	klog.InfoS("integrated", "size", 3)
	klog.Flush()
	earlier := klog.Background().WithValues("entries", 5).WithName("appender")

	logTesseraTo(slog.New(slog.NewJSONHandler(&second, nil)).With("component", "tessera", "run", 2))
	klog.InfoS("published", "size", 4)
	klog.Flush()
	earlier.Info("checkpoint")

	for _, c := range []struct {
		name      string
		got, want string
		not       string
	}{
		{"first run", first.String(), `"msg":"integrated","component":"tessera","size":3}`, "checkpoint"},
		{"second run", second.String(), `"msg":"published","component":"tessera","run":2,"size":4}`, "integrated"},
		{"second run", second.String(), `"msg":"checkpoint","component":"tessera","run":2,"entries":5,"logger":"appender"}`, "integrated"},
	} {
		if !strings.Contains(c.got, c.want) {
			t.Errorf("%s log = %s, want it to contain %s", c.name, c.got, c.want)
		}
		if strings.Contains(c.got, c.not) {
			t.Errorf("%s log = %s, want no %q line in it", c.name, c.got, c.not)
		}
	}
}
