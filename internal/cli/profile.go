package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Profile is a named Redis target kept in <config dir>/hydrakit/profiles.json. It holds no password:
// only the name of the environment variable or the path of the file that holds it.
type Profile struct {
	Redis        string `json:"redis"`
	CA           string `json:"redisCA,omitempty"`
	Cert         string `json:"redisCert,omitempty"`
	Key          string `json:"redisKey,omitempty"`
	PasswordEnv  string `json:"passwordEnv,omitempty"`
	PasswordFile string `json:"passwordFile,omitempty"`
}

type profileFile struct {
	Active   string              `json:"active,omitempty"`
	Profiles map[string]*Profile `json:"profiles"`
}

type profileStore struct{ dir string }

func (a *app) profiles() profileStore { return profileStore{dir: a.env.ConfigDir} }

func (s profileStore) path() string { return filepath.Join(s.dir, "hydrakit", "profiles.json") }

func (s profileStore) load() (*profileFile, error) {
	f := &profileFile{Profiles: map[string]*Profile{}}
	if s.dir == "" {
		return f, nil
	}
	b, err := os.ReadFile(s.path())
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("profiles: %w", err)
	}
	if err := json.Unmarshal(b, f); err != nil {
		return nil, fmt.Errorf("profiles: %s: %w", s.path(), err)
	}
	if f.Profiles == nil {
		f.Profiles = map[string]*Profile{}
	}
	return f, nil
}

// save writes the file readable by its owner only, through a rename so that a crash leaves the old one.
func (s profileStore) save(f *profileFile) error {
	if s.dir == "" {
		return errors.New("profiles: no user config directory (set $XDG_CONFIG_HOME or $HOME)")
	}
	if err := os.MkdirAll(filepath.Dir(s.path()), 0o700); err != nil {
		return fmt.Errorf("profiles: %w", err)
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp := s.path() + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("profiles: %w", err)
	}
	if err := os.Rename(tmp, s.path()); err != nil {
		return fmt.Errorf("profiles: %w", err)
	}
	return nil
}

// selected returns the profile named explicitly (flag, then environment), else the active one; nil
// when none is named and none is active. A name that does not exist is an error.
func (s profileStore) selected(flag, env string) (*Profile, string, error) {
	f, err := s.load()
	if err != nil {
		return nil, "", err
	}
	name := or(flag, env)
	if name == "" {
		name = f.Active
		if name == "" {
			return nil, "", nil
		}
	}
	p, ok := f.Profiles[name]
	if !ok {
		return nil, "", notFoundf("no profile %q (hydrakit profile list)", name)
	}
	return p, name, nil
}

func (f *profileFile) names() []string {
	names := make([]string, 0, len(f.Profiles))
	for n := range f.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
