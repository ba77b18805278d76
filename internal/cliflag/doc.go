// Package cliflag holds the command line's flag values that are more than
// a string or a number (sizes such as 64MiB, ages such as 7d, repeatable
// lists) and the configuration file that gives a command's flags in YAML.
// It knows nothing of the commands: package main registers the flags and
// wraps the errors as usage errors.
package cliflag
