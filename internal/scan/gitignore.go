package scan

import (
	"bufio"
	"bytes"
	"regexp"
	"strings"
)

// ignoreFile is one parsed .gitignore. Its patterns apply to paths relative
// to the directory that holds it.
type ignoreFile struct {
	dir   string // slash-separated, relative to the scan root; "" for the root
	rules []ignoreRule
}

type ignoreRule struct {
	re      *regexp.Regexp // matches the whole relative path
	negate  bool
	dirOnly bool
}

// parseGitignore reads the patterns of a .gitignore in dir, following
// gitignore(5): blank lines and "#" comments are skipped, "!" negates, a
// trailing "/" matches directories only, a "/" at the start or in the middle
// anchors the pattern to dir, "*" and "?" and "[...]" don't cross "/", and
// "**" spans directories in the leading "**/", trailing "/**" and middle
// "/**/" forms.
func parseGitignore(dir string, data []byte) *ignoreFile {
	f := &ignoreFile{dir: dir}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		// Trailing spaces are ignored unless escaped.
		for strings.HasSuffix(line, " ") && !strings.HasSuffix(line, "\\ ") {
			line = line[:len(line)-1]
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var r ignoreRule
		if strings.HasPrefix(line, "!") {
			r.negate = true
			line = line[1:]
		} else if strings.HasPrefix(line, "\\!") || strings.HasPrefix(line, "\\#") {
			line = line[1:]
		}
		if strings.HasSuffix(line, "/") {
			r.dirOnly = true
			line = strings.TrimRight(line, "/")
		}
		if line == "" {
			continue
		}
		anchored := strings.Contains(line, "/")
		line = strings.TrimPrefix(line, "/")
		expr := globToRegexp(line)
		if !anchored {
			expr = "(?:.*/)?" + expr
		}
		re, err := regexp.Compile("^" + expr + "$")
		if err != nil {
			continue // a pattern git would also fail to use
		}
		r.re = re
		f.rules = append(f.rules, r)
	}
	return f
}

func globToRegexp(g string) string {
	var b strings.Builder
	for i := 0; i < len(g); i++ {
		c := g[i]
		switch {
		case c == '*' && strings.HasPrefix(g[i:], "**"):
			atStart := i == 0 || g[i-1] == '/'
			j := i + 2
			atEnd := j == len(g) || g[j] == '/'
			if !atStart || !atEnd {
				// Not a "**" component: two ordinary stars.
				b.WriteString("[^/]*")
				i++
				continue
			}
			switch {
			case j == len(g): // trailing "/**" or a lone "**": everything inside
				b.WriteString(".*")
			default: // "**/" at start or "/**/" in the middle: zero or more dirs
				b.WriteString("(?:.*/)?")
				j++ // consume the "/"
			}
			i = j - 1
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '[':
			end := strings.IndexByte(g[i+1:], ']')
			if end < 0 {
				b.WriteString(`\[`)
				continue
			}
			class := g[i+1 : i+1+end]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i += end + 1
		case c == '\\' && i+1 < len(g):
			i++
			b.WriteString(regexp.QuoteMeta(string(g[i])))
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	return b.String()
}

// ignoreStack holds the .gitignore files that apply to the directory being
// walked, outermost first.
type ignoreStack []*ignoreFile

// ignored reports whether rel (slash-separated, relative to the scan root)
// is ignored. Later rules win over earlier ones, and deeper files over
// shallower ones, as in git.
func (st ignoreStack) ignored(rel string, isDir bool) bool {
	ignored := false
	for _, f := range st {
		p := rel
		if f.dir != "" {
			var ok bool
			p, ok = strings.CutPrefix(rel, f.dir+"/")
			if !ok {
				continue
			}
		}
		for _, r := range f.rules {
			if r.dirOnly && !isDir {
				continue
			}
			if r.re.MatchString(p) {
				ignored = !r.negate
			}
		}
	}
	return ignored
}
