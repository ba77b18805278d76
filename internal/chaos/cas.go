package chaos

import (
	"fmt"

	"github.com/anishathalye/porcupine"
)

// CASInput is one operation on a compare-and-set register: a read (CAS
// false), or a conditional write of To, valid only while the register
// holds From. Registers hold an object's contents; a conditional put names
// the ETag it read, and an ETag is the MD5 of the contents, so comparing
// contents compares ETags.
type CASInput struct {
	CAS      bool
	From, To string
}

// CASModel checks histories of CASInput operations on one register that
// starts empty: a read's output is the contents (string), a write's
// whether it took effect (bool).
var CASModel = porcupine.Model{
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in, s := input.(CASInput), state.(string)
		switch {
		case !in.CAS:
			return output.(string) == s, s
		case output.(bool):
			return s == in.From, in.To
		default:
			return s != in.From, s
		}
	},
	DescribeOperation: func(input, output any) string {
		in := input.(CASInput)
		if !in.CAS {
			return fmt.Sprintf("read -> %q", output)
		}
		return fmt.Sprintf("cas(%q -> %q) = %v", in.From, in.To, output)
	},
}
