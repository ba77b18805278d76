package chaos

import (
	"testing"

	"github.com/anishathalye/porcupine"
)

func TestCASModelCatchesALostUpdate(t *testing.T) {
	lost := []porcupine.Operation{
		{ClientId: 0, Input: CASInput{CAS: true, From: "", To: "1"}, Output: true, Call: 0, Return: 10},
		{ClientId: 1, Input: CASInput{CAS: true, From: "", To: "1"}, Output: true, Call: 1, Return: 11},
	}
	if porcupine.CheckOperations(CASModel, lost) {
		t.Fatal("two successful increments from the same value were accepted")
	}
	ok := []porcupine.Operation{
		{ClientId: 0, Input: CASInput{CAS: true, From: "", To: "1"}, Output: true, Call: 0, Return: 10},
		{ClientId: 1, Input: CASInput{CAS: true, From: "", To: "1"}, Output: false, Call: 1, Return: 11},
		{ClientId: 1, Input: CASInput{}, Output: "1", Call: 12, Return: 13},
	}
	if !porcupine.CheckOperations(CASModel, ok) {
		t.Fatal("a lost race followed by a read of the winner was refused")
	}
}
