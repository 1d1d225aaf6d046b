package cli

import (
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/hydrakit/hydrakit/redisurl"
)

// profileView is one profile as profile list prints it.
type profileView struct {
	Name     string `json:"name"`
	Active   bool   `json:"active"`
	Redis    string `json:"redis"`
	CA       string `json:"redisCA,omitempty"`
	Cert     string `json:"redisCert,omitempty"`
	Key      string `json:"redisKey,omitempty"`
	Password string `json:"password"` // where the password comes from: "env:VAR", "file:PATH" or ""
}

func (a *app) profileCmd() *cobra.Command {
	return group(&cobra.Command{Use: "profile", Short: "Named Redis targets in <user config dir>/hydrakit/profiles.json"},
		a.profileAddCmd("add"), a.profileListCmd("list"), a.profileUseCmd("use"), a.profileRemoveCmd())
}

// useCmd and configCmd are hydra-cli's names: use <name>, config list, config <name> --redis URL.
func (a *app) useCmd() *cobra.Command { return a.profileUseCmd("use") }

func (a *app) configCmd() *cobra.Command {
	add := a.profileAddCmd("config")
	add.Short = "hydra-cli's config: config <name> --redis URL adds a profile, config list lists them"
	add.Use = "config <name>|list"
	run := add.RunE
	list := a.profileListCmd("list").RunE
	add.RunE = func(cmd *cobra.Command, argv []string) error {
		if argv[0] == "list" {
			return list(cmd, nil)
		}
		return run(cmd, argv)
	}
	return add
}

func (a *app) profileAddCmd(use string) *cobra.Command {
	var p Profile
	var activate bool
	cmd := &cobra.Command{
		Use:   use + " <name>",
		Short: "Add or replace a profile (its password comes from an environment variable or a file, never stored)",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if argv[0] == "" || strings.ContainsAny(argv[0], " /\\") {
				return usagef("profile name %q: no spaces or slashes", argv[0])
			}
			if p.Redis == "" {
				return usagef("a profile needs --url")
			}
			if redact(p.Redis) != p.Redis {
				return usagef("the profile URL holds a password: put it in an environment variable (--password-env) or a file (--password-file) instead")
			}
			if p.PasswordEnv != "" && p.PasswordFile != "" {
				return usagef("--password-env and --password-file exclude each other")
			}
			// Refuse now what no command could connect with (redisurl's errors never show a password).
			rdb, err := redisurl.NewClient(p.Redis, redisurl.CAFile(p.CA), redisurl.ClientCert(p.Cert, p.Key))
			if err != nil {
				return usagef("profile %s: %v", argv[0], err)
			}
			_ = rdb.Close()
			s := a.profiles()
			f, err := s.load()
			if err != nil {
				return err
			}
			saved := p
			f.Profiles[argv[0]] = &saved
			if activate || f.Active == "" {
				f.Active = argv[0]
			}
			if err := s.save(f); err != nil {
				return err
			}
			return a.done(map[string]string{"saved": argv[0]})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&p.Redis, "url", "", "the Redis URL, without a password")
	fl.StringVar(&p.CA, "ca", "", "PEM CA file (rediss://)")
	fl.StringVar(&p.Cert, "cert", "", "PEM client certificate")
	fl.StringVar(&p.Key, "key", "", "PEM key of --cert")
	fl.StringVar(&p.PasswordEnv, "password-env", "", "environment variable holding the password")
	fl.StringVar(&p.PasswordFile, "password-file", "", "file holding the password")
	fl.BoolVar(&activate, "use", false, "make it the active profile")
	return cmd
}

func (a *app) profileListCmd(use string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: "List the profiles",
		Args:  args(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			f, err := a.profiles().load()
			if err != nil {
				return err
			}
			out := []profileView{}
			for _, n := range f.names() {
				p := f.Profiles[n]
				v := profileView{Name: n, Active: n == f.Active, Redis: redact(p.Redis), CA: p.CA, Cert: p.Cert, Key: p.Key}
				switch {
				case p.PasswordEnv != "":
					v.Password = "env:" + p.PasswordEnv
				case p.PasswordFile != "":
					v.Password = "file:" + p.PasswordFile
				}
				out = append(out, v)
			}
			return a.emit(out, func(t *tabwriter.Writer) {
				row(t, "NAME", "ACTIVE", "REDIS", "PASSWORD")
				for _, v := range out {
					active := ""
					if v.Active {
						active = "*"
					}
					row(t, v.Name, active, v.Redis, v.Password)
				}
			})
		},
	}
}

func (a *app) profileUseCmd(use string) *cobra.Command {
	return &cobra.Command{
		Use:   use + " <name>",
		Short: "Make a profile the active one",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(_ *cobra.Command, argv []string) error {
			return a.editProfile(argv[0], "active", func(f *profileFile) { f.Active = argv[0] })
		},
	}
}

func (a *app) profileRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "remove <name>",
		Short: "Delete a profile",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(_ *cobra.Command, argv []string) error {
			return a.editProfile(argv[0], "removed", func(f *profileFile) {
				delete(f.Profiles, argv[0])
				if f.Active == argv[0] {
					f.Active = ""
				}
			})
		},
	}
}

// editProfile applies change to the stored profiles, where the profile name must exist, saves them
// and reports "<what> <name>".
func (a *app) editProfile(name, what string, change func(f *profileFile)) error {
	s := a.profiles()
	f, err := s.load()
	if err != nil {
		return err
	}
	if _, ok := f.Profiles[name]; !ok {
		return notFoundf("no profile %q", name)
	}
	change(f)
	if err := s.save(f); err != nil {
		return err
	}
	return a.done(map[string]string{what: name})
}
