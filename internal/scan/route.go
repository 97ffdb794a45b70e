package scan

import "path"

// Possible routes.
//
// Some hosts serve the vendor's models and others': the Bedrock runtime
// serves Claude, but also Llama, Nova, Mistral and OpenAI's models (the
// openai-go SDK has a bedrock package); a Vertex AI host serves Gemini as
// well as Claude. A profile marks such patterns with route: true. A finding
// of one is exposure only with evidence of the vendor's models nearby: any
// other finding of the profile in the same file (a model ID or an
// "anthropic." model prefix, an SDK import or constant, the vendor's own
// host, its variables or keys), or a dependency on the vendor's SDK or an
// integration in a manifest in the file's directory or one above it.
// Without that it is a possible route: reported, with PossibleRoute set,
// but not exposure (see [Exposure]).

// markPossibleRoutes sets PossibleRoute on the findings of p's route
// patterns that have no evidence of the vendor's models nearby.
func markPossibleRoutes(p *Profile, fs []Finding) []Finding {
	route := map[string]bool{}
	for _, pt := range p.Patterns {
		if pt.Route {
			route[pt.ID] = true
		}
	}
	if len(route) == 0 {
		return fs
	}
	evidence := map[string]bool{}  // files with evidence
	manifests := map[string]bool{} // directories with a manifest that names the vendor's packages
	for _, f := range fs {
		switch {
		case f.Kind == KindPackage:
			manifests[path.Dir(f.File)] = true
		case !route[f.Rule]:
			evidence[f.File] = true
		}
	}
	for i := range fs {
		f := &fs[i]
		if f.Kind == KindPackage || !route[f.Rule] || evidence[f.File] {
			continue
		}
		f.PossibleRoute = true
		for dir := path.Dir(f.File); ; dir = path.Dir(dir) {
			if manifests[dir] {
				f.PossibleRoute = false
				break
			}
			if dir == "." || dir == "/" {
				break
			}
		}
	}
	return fs
}

// Exposure returns the findings that are exposure: all but the possible
// routes. --fail-on-exposure, the summary and the exposure counts use it.
func Exposure(fs []Finding) []Finding {
	out := make([]Finding, 0, len(fs))
	for _, f := range fs {
		if !f.PossibleRoute {
			out = append(out, f)
		}
	}
	return out
}

// PossibleRoutes returns the findings that are possible routes.
func PossibleRoutes(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.PossibleRoute {
			out = append(out, f)
		}
	}
	return out
}
