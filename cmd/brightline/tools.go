package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/brightline/brightline/internal/safeguard"
	"github.com/brightline/brightline/internal/toolclass"
)

func runTools(ctx context.Context, args []string, e *env) error {
	cfg, args, err := takeConfig(args, e)
	if err != nil {
		return err
	}
	if len(args) == 0 || args[0] != "classify" {
		fmt.Fprintln(e.stderr, "usage: brightline tools [-config FILE] classify [FILE]")
		return errUsage
	}
	tools, err := cfg.toolEffects()
	if err != nil {
		return err
	}
	lp, err := loadConfiguredPolicy(ctx, cfg, true)
	if err != nil {
		return err
	}
	// What the signed policy declares, raised by the config, as the
	// gateway resolves it; the classifier decides the rest.
	dec := safeguard.New(safeguard.Config{Tools: tools})
	declared := func(name string) string {
		if eff := dec.Effect(lp.Policy, name, nil); eff.Declared || eff.Raised {
			return eff.Class
		}
		return ""
	}
	return toolsClassify(ctx, args[1:], declared, e)
}

// toolsClassify runs `brightline tools classify [FILE]`; args are the
// arguments after "classify". It reads tool definitions from FILE, or from
// stdin when there is none, in any form [toolclass.ParseTools] accepts, and
// writes one JSON line per tool to stdout:
//
//	{"name":"fire_interceptor","class":"force","declared":false,"reason":"force verb ..."}
//
// declared(name) returns the class the operator declared in config, or ""
// for none; a declared class wins over the classifier and the reason says
// "declared in config". Input that can't be read or parsed fails with exit
// status 1.
func toolsClassify(ctx context.Context, args []string, declared func(name string) string, e *env) error {
	fs := flag.NewFlagSet("brightline tools classify", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: brightline tools classify [FILE]\n\n"+
			"Reads tool definitions (a JSON array or JSON Lines; OpenAI, Anthropic, MCP or\n"+
			"plain {name, description, input_schema}) from FILE or stdin and prints one JSON\n"+
			"line per tool: {\"name\", \"class\", \"declared\", \"reason\"}.\n")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return errUsage
	}
	var in io.Reader = e.stdin
	src := "stdin"
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			fmt.Fprintf(e.stderr, "brightline tools classify: %v\n", err)
			return errFailed
		}
		defer f.Close()
		in, src = f, fs.Arg(0)
	}
	tools, err := toolclass.ParseTools(in)
	if err != nil {
		fmt.Fprintf(e.stderr, "brightline tools classify: %s: %v\n", src, err)
		return errFailed
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	for _, t := range tools {
		if err := ctx.Err(); err != nil {
			fmt.Fprintf(e.stderr, "brightline tools classify: %v\n", err)
			return errFailed
		}
		line := struct {
			Name     string `json:"name"`
			Class    string `json:"class"`
			Declared bool   `json:"declared"`
			Reason   string `json:"reason"`
		}{Name: t.Name}
		if c := declared(t.Name); c != "" {
			line.Class, line.Declared, line.Reason = c, true, "declared in config"
		} else {
			r := toolclass.Classify(t)
			line.Class, line.Reason = r.Class, r.Reason
		}
		if err := enc.Encode(line); err != nil {
			fmt.Fprintf(e.stderr, "brightline tools classify: couldn't write output: %v\n", err)
			return errFailed
		}
	}
	return nil
}
