package scan

import (
	"bytes"
	"path"
	"regexp"
	"strings"
)

// isWorkflow reports whether rel is a GitHub Actions workflow (or a local
// composite action definition).
func isWorkflow(rel string) bool {
	ext := path.Ext(rel)
	if ext != ".yml" && ext != ".yaml" {
		return false
	}
	return strings.HasPrefix(rel, ".github/workflows/") || strings.Contains(rel, "/.github/workflows/") ||
		((strings.HasPrefix(rel, ".github/actions/") || strings.Contains(rel, "/.github/actions/")) && strings.HasPrefix(path.Base(rel), "action."))
}

func isTerraform(rel string) bool {
	ext := path.Ext(rel)
	return ext == ".tf" || ext == ".tfvars" || strings.HasSuffix(rel, ".tf.json")
}

var workflowUses = regexp.MustCompile(`^\s*(?:-\s*)?uses:\s*["']?([^"'\s#]+)`)

// scanWorkflow reports the vendor's actions a workflow uses.
func scanWorkflow(p *Profile, rel string, data []byte, fs []Finding) []Finding {
	lineIter(data, func(n int, b []byte) {
		m := workflowUses.FindSubmatch(b)
		if m == nil {
			return
		}
		uses := string(m[1])
		if strings.HasPrefix(uses, "./") || strings.HasPrefix(uses, "docker://") {
			return
		}
		if name, ok := p.matchAction(uses); ok {
			fs = append(fs, Finding{Component: name, Kind: KindAction, Depth: DepthCI, Ecosystem: EcoActions,
				File: rel, Line: n, Evidence: evidence(b, 0, len(b))})
		}
	})
	return fs
}

var (
	tfBlock  = regexp.MustCompile(`^\s*(resource|data)\s+"([^"]+)"`)
	tfSource = regexp.MustCompile(`^\s*source\s*=\s*"([^"]+)"`)
	tfProv   = regexp.MustCompile(`^\s*provider\s+"([^"]+)"`)
)

// scanTerraform reports the vendor's Terraform providers and resource types.
// Model IDs and hosts in .tf files come from the source patterns, with
// depth IaC.
func scanTerraform(p *Profile, rel string, data []byte, fs []Finding) []Finding {
	if len(p.IaC.Providers) == 0 && len(p.IaC.Resources) == 0 {
		return fs
	}
	lineIter(data, func(n int, b []byte) {
		if !bytes.Contains(b, []byte("resource")) && !bytes.Contains(b, []byte("data")) &&
			!bytes.Contains(b, []byte("source")) && !bytes.Contains(b, []byte("provider")) {
			return
		}
		var comp string
		if m := tfBlock.FindSubmatch(b); m != nil && p.matchResource(string(m[2])) {
			comp = string(m[2])
		} else if m := tfSource.FindSubmatch(b); m != nil && strings.Count(string(m[1]), "/") >= 1 && p.matchProvider(string(m[1])) {
			comp = string(m[1])
		} else if m := tfProv.FindSubmatch(b); m != nil && p.matchProvider(string(m[1])) {
			comp = string(m[1])
		}
		if comp != "" {
			fs = append(fs, Finding{Component: comp, Kind: KindResource, Depth: DepthIaC, Ecosystem: EcoTerraform,
				File: rel, Line: n, Evidence: evidence(b, 0, len(b))})
		}
	})
	return fs
}
