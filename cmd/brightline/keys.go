package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/store"
)

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func runKeys(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, "usage: brightline keys create|list|revoke [flags]\n")
		return errUsage
	}
	switch args[0] {
	case "create":
		return keysCreate(ctx, args[1:], e)
	case "list":
		return keysList(ctx, args[1:], e)
	case "revoke":
		return keysRevoke(ctx, args[1:], e)
	default:
		fmt.Fprintf(e.stderr, "brightline keys: unknown command %q (want create, list or revoke)\n", args[0])
		return errUsage
	}
}

// openStore loads the config named by -config and opens its store.
func openStore(ctx context.Context, configPath string, e *env) (dataStore, *Config, error) {
	cfg, err := loadConfig(configPath, e.getenv)
	if err != nil {
		return nil, nil, err
	}
	db, err := openDataStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return db, cfg, nil
}

func keysCreate(ctx context.Context, args []string, e *env) error {
	fs := newFlagSet("keys create", e)
	configPath := fs.String("config", "", "config `file` (default: embedded defaults)")
	name := fs.String("name", "", "who or what the key is for (required)")
	person := fs.String("person", "", "the `ID` of the human who holds the key (default: the name); "+
		"the two-person rule counts persons, so give every key of one person the same ID")
	org := fs.String("org", "", "organisation of the caller")
	purpose := fs.String("purpose", "", "declared purpose of use")
	var roles stringList
	fs.Var(&roles, "role", "a role of the caller; repeat for several")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *name == "" || fs.NArg() > 0 {
		fmt.Fprintln(e.stderr, "usage: brightline keys create -name NAME [-person ID] [-org ORG] [-purpose PURPOSE] [-role ROLE]...")
		return errUsage
	}
	if *person == "" {
		*person = *name
	}
	db, _, err := openStore(ctx, *configPath, e)
	if err != nil {
		return err
	}
	defer db.Close()

	plaintext, hash, err := brightline.NewKey()
	if err != nil {
		return err
	}
	id, err := brightline.NewKeyID()
	if err != nil {
		return err
	}
	k := store.Key{
		ID:        id,
		Prefix:    brightline.DisplayPrefix(plaintext),
		Principal: brightline.Principal{ID: id, Name: *name, Person: *person, Org: *org, Purpose: *purpose, Roles: roles},
	}
	if err := db.CreateKey(ctx, k, hash); err != nil {
		return fmt.Errorf("couldn't store key: %w", err)
	}
	fmt.Fprintln(e.stdout, plaintext)
	fmt.Fprintf(e.stderr, "created %s for %q; the key above is shown only once, store it now\n", id, *name)
	return nil
}

func keysList(ctx context.Context, args []string, e *env) error {
	fs := newFlagSet("keys list", e)
	configPath := fs.String("config", "", "config `file` (default: embedded defaults)")
	asJSON := fs.Bool("json", false, "print JSON, one key per line")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	db, _, err := openStore(ctx, *configPath, e)
	if err != nil {
		return err
	}
	defer db.Close()
	keys, err := db.ListKeys(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		for _, k := range keys {
			enc.Encode(keyJSON{
				ID: k.ID, Prefix: k.Prefix, Name: k.Principal.Name, Org: k.Principal.Org,
				Purpose: k.Principal.Purpose, Roles: nonNil(k.Principal.Roles), Created: k.CreatedAt,
				Revoked: k.RevokedAt, LastUsed: k.LastUsedAt, Person: k.Principal.Who(),
			})
		}
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPREFIX\tNAME\tORG\tPURPOSE\tROLES\tCREATED\tSTATUS\tPERSON")
	for _, k := range keys {
		status := "active"
		if k.RevokedAt != nil {
			status = "revoked " + k.RevokedAt.UTC().Format(time.DateTime)
		}
		p := k.Principal
		fmt.Fprintf(tw, "%s\t%s…\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, p.Name, dash(p.Org), dash(p.Purpose),
			dash(strings.Join(p.Roles, ",")), k.CreatedAt.UTC().Format(time.DateTime), status, p.Who())
	}
	return tw.Flush()
}

type keyJSON struct {
	ID       string     `json:"id"`
	Prefix   string     `json:"prefix"`
	Name     string     `json:"name"`
	Org      string     `json:"org"`
	Purpose  string     `json:"purpose"`
	Roles    []string   `json:"roles"`
	Created  time.Time  `json:"created_at"`
	Revoked  *time.Time `json:"revoked_at"`
	LastUsed *time.Time `json:"last_used_at"`
	Person   string     `json:"person"` // the holder; see brightline.Principal.Who
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func keysRevoke(ctx context.Context, args []string, e *env) error {
	fs := newFlagSet("keys revoke", e)
	configPath := fs.String("config", "", "config `file` (default: embedded defaults)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "usage: brightline keys revoke [-config FILE] KEY_ID")
		return errUsage
	}
	db, _, err := openStore(ctx, *configPath, e)
	if err != nil {
		return err
	}
	defer db.Close()
	id := fs.Arg(0)
	if err := db.RevokeKey(ctx, id); err != nil {
		if errors.Is(err, brightline.ErrNotFound) {
			return fmt.Errorf("no key with id %q (brightline keys list shows them)", id)
		}
		return err
	}
	fmt.Fprintf(e.stderr, "revoked %s\n", id)
	return nil
}
