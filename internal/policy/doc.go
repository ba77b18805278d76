// Package policy parses and evaluates IAM-style access policies, as S3
// bucket policies are written, with the standard library only.
//
// # Grammar
//
// A document is a JSON object with an optional Version ("2012-10-17" or
// "2008-10-17"; missing means 2008-10-17), an optional Id and a Statement,
// which is one object or a non-empty array of them. Each statement has an
// optional Sid (unique in the document), an Effect ("Allow" or "Deny"), at
// most one of Principal / NotPrincipal, exactly one of Action / NotAction,
// exactly one of Resource / NotResource and an optional Condition. Unknown
// or repeated fields are errors; Parse reports the first problem as an
// *Error naming the statement and element.
//
//   - Principal is "*" or an object {"AWS"|"CanonicalUser"|"Service"|
//     "Federated": string or array}. "*" (bare or as a value) matches every
//     caller, anonymous ones included; other values match a caller whose
//     Request.Principals holds the exact string. A statement with neither
//     Principal nor NotPrincipal (an identity policy) matches any caller.
//   - Action is "*" or "service:pattern", matched case-insensitively with
//     the wildcards * and ?.
//   - Resource is "*" or an ARN (arn:partition:service:region:account:
//     resource), matched case-sensitively with * and ?.
//   - Condition is {"Operator": {"key": value or [values]}}, values being
//     strings, numbers or booleans. Operators: String(Not)Equals,
//     String(Not)EqualsIgnoreCase, String(Not)Like, Numeric(Not)Equals,
//     NumericLessThan(Equals), NumericGreaterThan(Equals), the same six for
//     Date (ISO 8601 or epoch seconds), Bool, IpAddress and NotIpAddress
//     (IPv4 or IPv6 address or CIDR), Arn(Not)Equals, Arn(Not)Like, and
//     Null; each but Null may end in IfExists or start with ForAnyValue: or
//     ForAllValues:. Numbers, dates, addresses and ARNs are validated by
//     Parse. Condition key names are case-insensitive; values are
//     case-sensitive unless the operator says otherwise.
//
// With Version 2012-10-17, ${key} in Resource, NotResource and the values of
// String, Arn and Bool conditions is replaced by the single value of that
// condition key in Request.Context; ${key, 'default'} supplies a default and
// ${*}, ${?}, ${$} stand for the literal characters. A statement that needs a
// variable the request does not supply (missing or multi-valued, with no
// default) does not apply to the request.
//
// # Evaluation
//
// A statement applies when its principal, action, resource and every
// condition match. Evaluate returns Deny if any applying statement denies,
// otherwise Allow if any applying statement allows, otherwise NoMatch (an
// implicit deny). EvaluateAll does the same over several policies, so an
// explicit Deny in any of them wins.
//
// Within a Condition, all operators must hold, all keys of one operator must
// hold, and any of one key's values may match. A key missing from the
// request makes a positive operator false and a negated one (StringNotEquals,
// NotIpAddress, ...) true; ...IfExists operators hold when the key is
// missing; ForAllValues holds for a missing key and ForAnyValue does not;
// Null "true" holds when the key is missing.
//
// A parsed Policy is immutable and safe for concurrent use.
package policy
