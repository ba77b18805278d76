package main

import (
	"flag"
	"fmt"

	"github.com/granary-store/granary/internal/cliflag"
)

// A configuration file (--config) gives a server command's flags in YAML,
// one key per flag; internal/cliflag reads it.

// configUsage is the help line of --config.
const configUsage = "read flags from this YAML file (keys are flag names, e.g. http-addr: HOST:PORT; lists for repeatable flags); flags on the command line win"

// parseConfig is parse for the server commands: it adds --config FILE to
// fs, parses args as parse does (help prints and returns flag.ErrHelp
// before any file is read), then sets from the file every flag the
// command line did not set.
func parseConfig(e *env, fs *flag.FlagSet, args []string) error {
	path := fs.String("config", "", configUsage)
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if *path == "" {
		return nil
	}
	if err := cliflag.ApplyFile(fs, *path); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	return nil
}

// Repeatable: a list in a configuration file sets each storage class.
func (storageClassFlag) Repeatable() {}
