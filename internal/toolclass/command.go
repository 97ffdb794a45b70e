package toolclass

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// Command runs `brightline tools classify [FILE]`; args are the arguments
// after "classify". It reads tool definitions from FILE, or from stdin when
// there is none, in any form [ParseTools] accepts, and writes one JSON line
// per tool to stdout:
//
//	{"name":"fire_interceptor","class":"force","declared":false,"reason":"force verb ..."}
//
// declared(name) returns the class the operator declared in config, or ""
// for none (it may be nil); a declared class wins over the classifier and
// the reason says "declared in config". Command returns the process exit
// code: 0 on success, 1 when the input can't be read or parsed, 2 on a
// usage error.
func Command(ctx context.Context, args []string, declared func(name string) string, stdin io.Reader, stdout, stderr io.Writer) (exitCode int) {
	fs := flag.NewFlagSet("brightline tools classify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: brightline tools classify [FILE]\n\n"+
			"Reads tool definitions (a JSON array or JSON Lines; OpenAI, Anthropic, MCP or\n"+
			"plain {name, description, input_schema}) from FILE or stdin and prints one JSON\n"+
			"line per tool: {\"name\", \"class\", \"declared\", \"reason\"}.\n")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return 2
	}
	in, src := stdin, "stdin"
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			fmt.Fprintf(stderr, "brightline tools classify: %v\n", err)
			return 1
		}
		defer f.Close()
		in, src = f, fs.Arg(0)
	}
	tools, err := ParseTools(in)
	if err != nil {
		fmt.Fprintf(stderr, "brightline tools classify: %s: %v\n", src, err)
		return 1
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	for _, t := range tools {
		if err := ctx.Err(); err != nil {
			fmt.Fprintf(stderr, "brightline tools classify: %v\n", err)
			return 1
		}
		line := struct {
			Name     string `json:"name"`
			Class    string `json:"class"`
			Declared bool   `json:"declared"`
			Reason   string `json:"reason"`
		}{Name: t.Name}
		if c := declaredClass(declared, t.Name); c != "" {
			line.Class, line.Declared, line.Reason = c, true, "declared in config"
		} else {
			r := Classify(t)
			line.Class, line.Reason = r.Class, r.Reason
		}
		if err := enc.Encode(line); err != nil {
			fmt.Fprintf(stderr, "brightline tools classify: couldn't write output: %v\n", err)
			return 1
		}
	}
	return 0
}

func declaredClass(declared func(string) string, name string) string {
	if declared == nil {
		return ""
	}
	return declared(name)
}
