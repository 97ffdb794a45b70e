package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/brightline/brightline/internal/detect"
)

const detectUsage = `usage: brightline detect [-evidence] < TEXT

Reads text on standard input and prints the person identifiers the
surveillance safeguard finds in it, as one JSON object:
  {"findings": [{"type": "PHONE", "start": 12, "end": 26, "score": 0.9, "subject": 0}, ...],
   "subjects": N}
start and end are byte offsets into the input as given (matching runs on a
copy with full-width and look-alike characters folded, but offsets point at
the original bytes); subject is the index of the
subject (person) the finding is linked to, or null. With -evidence, each
finding also says which validator and context words produced its score,
and each subject is listed with its US-person flag and data categories.
`

// detectMaxBytes bounds the input: detection holds it all in memory.
const detectMaxBytes = 64 << 20

type detectFinding struct {
	Type     string  `json:"type"`
	Start    int     `json:"start"`
	End      int     `json:"end"`
	Score    float64 `json:"score"`
	Subject  *int    `json:"subject"`
	Evidence string  `json:"evidence,omitempty"`
}

type detectSubject struct {
	Findings   []int    `json:"findings"`
	KeyType    string   `json:"key_type"`
	USPerson   bool     `json:"us_person"`
	Categories []string `json:"categories"`
}

type detectOutput struct {
	Findings []detectFinding `json:"findings"`
	Subjects int             `json:"subjects"`
	// SubjectList is printed with -evidence.
	SubjectList []detectSubject `json:"subject_list,omitempty"`
}

func runDetect(_ context.Context, args []string, e *env) error {
	fs := newFlagSet("detect", e)
	evidence := fs.Bool("evidence", false, "explain each finding and list the subjects")
	fs.Usage = func() {
		fmt.Fprint(e.stderr, detectUsage)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	b, err := io.ReadAll(io.LimitReader(e.stdin, detectMaxBytes+1))
	if err != nil {
		return fmt.Errorf("couldn't read standard input: %w", err)
	}
	if len(b) > detectMaxBytes {
		return fmt.Errorf("input is over %d MiB; split it", detectMaxBytes>>20)
	}
	a := detect.Analyze(string(b))
	out := detectOutput{Findings: make([]detectFinding, len(a.Findings)), Subjects: len(a.Subjects)}
	for i, f := range a.Findings {
		df := detectFinding{Type: f.Type, Start: f.Start, End: f.End, Score: f.Score}
		if s := a.SubjectOf[i]; s >= 0 {
			df.Subject = &s
		}
		if *evidence {
			df.Evidence = f.Evidence
		}
		out.Findings[i] = df
	}
	if *evidence {
		for _, s := range a.Subjects {
			out.SubjectList = append(out.SubjectList, detectSubject{Findings: s.Findings, KeyType: s.KeyType, USPerson: s.USPerson, Categories: s.Categories.Names()})
		}
	}
	return json.NewEncoder(e.stdout).Encode(out)
}
