// The fault engine: reproduce field failures (lost liveness checks, a peer answering TS_UNACCEPTABLE, a rekey
// with the wrong DH group, ESP replays) with one command. A rule is MATCH + ACTION + LIFETIME, asked at the hook
// points: the IKE task manager's send and receive points and the ESP engine's seal and open points (plus NAT-T
// keepalives, for `dead`). This module is the pure core: rules, their syntax, matching and decisions. Applying a
// decision (dropping, re-encoding, holding bytes, timers) is the hook point's job.
//
// CLI (one rule; parseRuleTexts takes these options, the verb comes with the wiring):
//   ikelab fault add [--name NAME] --match CRITERIA --action ACTION [--count N]
//   --match  comma-separated key=value items and flags; empty or absent: every message the action can act on
//     proto=ike|esp         layer (default: esp for esp-* actions, else ike)
//     ike=NAME  ike-id=N    connection name / IKE_SA unique id (the 3 of bar[3])
//     child=NAME            CHILD_SA name (ESP)
//     dir=in|out            received / sent
//     exchange=X            IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL or a number
//     request | response    flags
//     mid=N                 message ID
//     payload=KE+No         all these payloads present (charon's short names or RFC names)
//     notify=COOKIE+...     all these notifies present
//     empty[=no]            no payload at all ("only liveness checks": exchange=INFORMATIONAL,empty)
//     retransmit[=no]       only (never) retransmits
//     nth=N                 only the Nth message meeting all the other criteria
//     after=T  for=D        window counted from when the rule was added: from T on, for D (400ms, 10s, 2m, 1h)
//     prob=P  seed=S        fire with probability P (0.3 or 30%), seeded PRNG (default seed 1): same seed, same run
//   --action NAME[=VALUE][,OPTION[=VALUE]...]
//     drop | delay=400ms | duplicate[=N][,gap=T] | reorder[=N][,max=T] (hold until N later messages passed)
//     corrupt[=icv|iv] | truncate=N (keep N bytes; -N: cut N off the end)
//     notify=NAME[:GROUP]   answer a received request with this error instead of processing it, or send it in
//                           place of our response (NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE, INVALID_KE_PAYLOAD:19,
//                           AUTHENTICATION_FAILED, TEMPORARY_FAILURE, INVALID_SYNTAX, ...)
//     ke=omit|empty|group:N|fill:BYTE  (outgoing KE: none, no data, another DH group, data filled with BYTE)
//     unknown-payload[=TYPE][,critical][,sk] | wrong-spi | wrong-mid[=+N|-N|N]
//     no-retransmit | no-delete | replay=forward|backward | dead (everything of the IKE_SA, until cleared)
//     collide=win|lose      on the peer's CHILD_SA rekey request: start our rekey of that CHILD_SA first, so the two
//                           cross (RFC 7296 2.8.1); our nonces make ikelab's rekey survive (win) or the peer's (lose).
//                           A rekey request that comes while ours could not start (an exchange of ours in flight)
//                           is let through uncounted: the rule waits for the next one
//     esp-replay[=N] (with this packet, the last N again) | esp-seq-jump=N
//   --count N   lifetime: fire at most N times. Otherwise a rule lives until cleared, or until its for= window ends.
//
//   e.g. --name dpd-loss --match exchange=INFORMATIONAL,dir=in,request,empty,prob=0.3,seed=42,ike=bar --action drop
//        --match exchange=CREATE_CHILD_SA,dir=out,request --action ke=group:19 --count 1
//        --match proto=esp,dir=out,prob=5%,seed=7 --action drop
//        --name coll --match exchange=CREATE_CHILD_SA,notify=REKEY_SA --action collide=win --count 1
//
// YAML (config): the same keys, `_` or `-` alike (yaml.ts):
//   faults:
//     - name: dpd-loss
//       match: { exchange: INFORMATIONAL, dir: in, request: true, empty: true, nth: 3 }
//       action: drop                  # or "delay=400ms", or { delay: 400ms }, or { notify: INVALID_KE_PAYLOAD, group: 19 }
//       count: 1
//
// libreswan `impair` names are accepted too (aliases.ts has the table), and `fault --mode silent|delay|normal`
// translates to rules (mode.ts). Unknown keys, values and actions are always refused with the key path, what
// was expected and the closest known word.

export { FaultEngine, type FaultEngineOptions } from './engine.js';
export { FaultSyntaxError } from './errors.js';
export { parseRuleTexts, type RuleTexts } from './parse.js';
export { formatRule, formatMatch } from './format.js';
export { formatAction, ACTION_NAMES } from './actions.js';
export { MATCH_KEYS } from './parse-match.js';
export { parseFaultsYaml, parseFaultYaml } from './yaml.js';
export { parseImpair, IMPAIR_NAMES } from './aliases.js';
export { faultModeRules, applyFaultMode, MODE_RULE_NAMES, type FaultMode } from './mode.js';
export { SeededRandom } from './prng.js';
export type * from './model.js';
