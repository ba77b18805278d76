package policy

// Error is the error Parse returns for a document it refuses. Msg says what
// is wrong and where, e.g. `Statement 2: unknown Effect "Alow"`, and is fit
// to show to the client who sent the document.
type Error struct {
	Msg string
}

// Error implements error.
func (e *Error) Error() string { return "policy: " + e.Msg }
