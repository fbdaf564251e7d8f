"""一网统管: every urban problem in one closed loop — report → file → dispatch → handle → report back →
verify → close — on working-calendar time limits. Other modules call `cases.service` (for example
`report_case` for sensor alarms) and read `cases.schemas` DTOs."""
