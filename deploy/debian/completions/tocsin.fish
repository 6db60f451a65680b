# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_tocsin_global_optspecs
    string join \n config= log-format= h/help V/version
end

function __fish_tocsin_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_tocsin_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_tocsin_using_subcommand
    set -l cmd (__fish_tocsin_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c tocsin -n "__fish_tocsin_needs_command" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_needs_command" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_needs_command" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_needs_command" -s V -l version -d 'Print version'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "migrate" -d 'Create the database if needed and apply its migrations: an explicit step, after installing and before restarting on each upgrade (`serve` refuses a database that needs them)'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "serve" -d 'Run the daemon: HTTP API, fan-out and senders, consuming from RabbitMQ'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "tenant" -d 'Manage tenants (communes, intercommunalities, départements)'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "key" -d 'Manage API keys'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "user" -d 'People of the console: invite, list, remove, start over'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "secrets" -d 'Rotate the keys derived from the server\'s secret, and retire the old ones'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "alert" -d 'An alert\'s proof (`alert proof alr_… --pdf proof.pdf --csv recipients.csv`)'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "audit" -d 'The audit log: list its entries, verify its chain'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "usage" -d 'A month\'s usage per tenant, for re-invoicing: alerts, messages, SMS segments, cost'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "doctor" -d 'Check what a running Tocsin needs, one line each, with the fix of what fails'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "healthcheck" -d 'Ask this machine\'s instance whether it is ready (`/readyz`, at http_addr): exits with 0 when it is. The container image\'s health check'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "config" -d 'Check the configuration'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "dead" -d 'Inspect and replay the dead-letter queue'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "vapid" -d 'Web Push identity (VAPID)'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "topics" -d 'Manage topics (through the API)'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "subscribers" -d 'Manage subscribers (through the API)'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "send" -d 'Send an alert (through the API)'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "status" -d 'Show an alert\'s delivery report (through the API)'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "cancel" -d 'Cancel an alert that has not started yet (timed with `send --at`, or waiting for the end of quiet hours)'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "stop" -d 'Stop an alert under way, sent by mistake: nothing more of it leaves (the batches being sent finish); one that has not started is cancelled'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "schedule" -d 'Recurring alerts on the commune\'s local clock (through the API)'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "demo" -d 'Rehearse: a demo commune with a few thousand subscribers, an urgent alert through the real pipeline to simulated providers, and its delivery report'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "completions" -d 'Print the completion script of a shell (bash, zsh, fish) on stdout'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "man-pages" -d 'Write the man pages into a directory (the package\'s are made this way)'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "bench" -d 'Measure how fast a whole commune is warned, against this machine\'s own ceilings (from a source checkout: runs `tocsin-bench`, built when stale; its options: `tocsin bench --help`)'
complete -c tocsin -n "__fish_tocsin_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand migrate" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand migrate" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand migrate" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand serve" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand serve" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand serve" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and not __fish_seen_subcommand_from create move tree update show help" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and not __fish_seen_subcommand_from create move tree update show help" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and not __fish_seen_subcommand_from create move tree update show help" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and not __fish_seen_subcommand_from create move tree update show help" -f -a "create" -d 'Create a tenant: `tocsin tenant create bras-sur-meuse --name "Bras-sur-Meuse" --parent cc-verdun`, `tocsin tenant create cc-verdun --kind group --name "CA du Grand Verdun"`'
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and not __fish_seen_subcommand_from create move tree update show help" -f -a "move" -d 'Move a tenant, with everything below it, under another group (or the platform): `tocsin tenant move charny-sur-meuse --parent cc-argonne`'
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and not __fish_seen_subcommand_from create move tree update show help" -f -a "tree" -d 'Show the tree of tenants: the platform, its groups and their communes'
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and not __fish_seen_subcommand_from create move tree update show help" -f -a "update" -d 'Change a tenant\'s settings, at once, without a restart: `tocsin tenant update bras-sur-meuse --timezone Europe/Paris --quiet-hours 21:00-08:00`, `--sms-account bras --sms-sender MAIRIEBRAS --email-from "Mairie <alertes@bras.fr>"`'
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and not __fish_seen_subcommand_from create move tree update show help" -f -a "show" -d 'Show a tenant\'s settings'
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and not __fish_seen_subcommand_from create move tree update show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from create" -l name -d 'Display name' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from create" -l kind -d 'commune, or group (a département, an intercommunality, a syndicat: it has members)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from create" -l parent -d 'The group it belongs to; the platform when not given' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from create" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from create" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from move" -l parent -r
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from move" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from move" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from move" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from tree" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from tree" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from tree" -l json -d 'One JSON document (a list, parents before members), for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from tree" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -l timezone -d 'IANA time zone that schedules, timed alerts and quiet hours are read in (Europe/Paris, America/Guadeloupe, Indian/Reunion, Pacific/Noumea…)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -l quiet-hours -d 'Local hours when routine alerts wait (urgent ones do not): `21:00-08:00`, or `none`' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -l sms-account -d 'The configured SMS account carrying its SMS (`[sms.accounts.NAME]`, `smsmode`…), or `default` for the routing\'s' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -l sms-secondary -d 'The SMS account its new SMS go to while the first is failing (transient errors or timeouts above `[failover] failure_share`), or `default` for none' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -l sms-sender -d 'The sender its SMS show: 3 to 11 letters or digits, not only digits, not a generic word such as ALERTE; `default` for the account\'s' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -l email-from -d 'The From of its e-mails (`Mairie de Bras <alertes@bras.fr>`); `default` for the account\'s' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -l max-sms-segments -d 'The most SMS segments one alert may take (1 to 10; 6 unless changed): a longer text is refused with its count' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -l region -d 'Where the commune is, for numbers written in national form: FR (default), RE, GP, MQ, GF, YT, PM, NC, PF…' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -l sms-countries -d 'The countries and territories its public routes (page, codes) and SMS keywords may text, as ISO 3166 codes: `FR,RE,GP,MQ,GF,YT,PM,NC,PF,WF,BL,MF` (France and its overseas, the default). Numbers it adds itself (API, imports) are not limited by it' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -l logo -d 'The commune\'s logo on its page: a PNG, JPEG or WebP file of at most 200 kB, or `none`' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -l colour -l color -d 'The commune\'s colour on its page (`#005a9c`), or `default`: it must keep a 4.5:1 contrast with white (WCAG 2.1 AA), else it is refused' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -l dkim-selector -d 'The DKIM selector of the commune\'s key (`tocsin` → `tocsin._domainkey.DOMAIN`), with --dkim-key or --dkim-generate. The domain is that of the tenant\'s e-mail From' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -l dkim-key -d 'A PEM file of the commune\'s DKIM private key (RSA, 2048 bits or more), stored sealed under the server\'s secret and never printed; `none` stops signing' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -l budget -d 'Monthly budgets: `sms=2000` (SMS segments), `email=5000`, `push=10000`, `voice=600` (minutes of call); `sms=none` lifts one, `none` all. A group\'s bounds the sum of its members\'. Comma-separated or repeated' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -l siret -d 'The SIRETs of the tenant\'s organisation (the mairie; a group has its own), matched against the `siret` of agents signing in through ProConnect; they replace the ones before. Comma-separated or repeated; `none` removes them' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -l require-validation -d '`on` (the default): a routine alert a drafter writes in the console waits for a sender\'s validation; `off`: it is sent at once. An urgent one is never held' -r -f -a "on\t''
off\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -l population -d 'How many people live there: the console shows the share subscribed. `none` removes it' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -l voice -d '`on`: alerts that name no channels call its fixed lines too; `off` (the default): only alerts naming `voice` call (calls cost more and wake people)' -r -f -a "on\t''
off\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -l voice-caller-id -d 'The number its calls present, where the voice account lets communes present their own (`+33937001234`), or `default` for the account\'s. Never a 06/07 mobile; a geographic 01–05 number only if it is a verified multi-use number (ARCEP)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -l dkim-generate -d 'Make a new 2048-bit DKIM key for the commune; `tenant show` prints the DNS record to publish'
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -l rotate-callback-token -d 'A new secret in the tenant\'s callback URLs: the URLs given to providers before stop working (set the new ones, which `tenant show` prints, at each provider)'
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -l voice-caller-id-verified -d 'The 01–05 `--voice-caller-id` is a verified multi-use number (no warning)'
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from update" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from show" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from show" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from show" -l json -d 'One JSON document, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a tenant: `tocsin tenant create bras-sur-meuse --name "Bras-sur-Meuse" --parent cc-verdun`, `tocsin tenant create cc-verdun --kind group --name "CA du Grand Verdun"`'
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from help" -f -a "move" -d 'Move a tenant, with everything below it, under another group (or the platform): `tocsin tenant move charny-sur-meuse --parent cc-argonne`'
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from help" -f -a "tree" -d 'Show the tree of tenants: the platform, its groups and their communes'
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from help" -f -a "update" -d 'Change a tenant\'s settings, at once, without a restart: `tocsin tenant update bras-sur-meuse --timezone Europe/Paris --quiet-hours 21:00-08:00`, `--sms-account bras --sms-sender MAIRIEBRAS --email-from "Mairie <alertes@bras.fr>"`'
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show a tenant\'s settings'
complete -c tocsin -n "__fish_tocsin_using_subcommand tenant; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand key; and not __fish_seen_subcommand_from create revoke help" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand key; and not __fish_seen_subcommand_from create revoke help" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand key; and not __fish_seen_subcommand_from create revoke help" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand key; and not __fish_seen_subcommand_from create revoke help" -f -a "create" -d 'Create an API key and print it, alone, on stdout; it is shown only this once'
complete -c tocsin -n "__fish_tocsin_using_subcommand key; and not __fish_seen_subcommand_from create revoke help" -f -a "revoke" -d 'Revoke an API key by its id (printed on stderr by `key create`)'
complete -c tocsin -n "__fish_tocsin_using_subcommand key; and not __fish_seen_subcommand_from create revoke help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand key; and __fish_seen_subcommand_from create" -l tenant -d 'Slug of the tenant the key belongs to' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand key; and __fish_seen_subcommand_from create" -l role -d 'admin (everything of the tenant and those below it), sender (sends and cancels alerts), drafter (manages subscribers) or reader (reads alerts and their reports)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand key; and __fish_seen_subcommand_from create" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand key; and __fish_seen_subcommand_from create" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand key; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand key; and __fish_seen_subcommand_from revoke" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand key; and __fish_seen_subcommand_from revoke" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand key; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create an API key and print it, alone, on stdout; it is shown only this once'
complete -c tocsin -n "__fish_tocsin_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Revoke an API key by its id (printed on stderr by `key create`)'
complete -c tocsin -n "__fish_tocsin_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and not __fish_seen_subcommand_from add list remove reset help" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and not __fish_seen_subcommand_from add list remove reset help" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and not __fish_seen_subcommand_from add list remove reset help" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and not __fish_seen_subcommand_from add list remove reset help" -f -a "add" -d 'Invite a person: prints their one-time invitation link (valid 72 h) on stdout'
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and not __fish_seen_subcommand_from add list remove reset help" -f -a "list" -d 'List the people of a tenant and of those below it (every one without --tenant)'
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and not __fish_seen_subcommand_from add list remove reset help" -f -a "remove" -d 'Remove a person: they can no longer sign in, their sessions end'
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and not __fish_seen_subcommand_from add list remove reset help" -f -a "reset" -d 'Start a person over (a forgotten password, a lost phone): prints a new invitation link, their password and second factor are cleared and their sessions end'
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and not __fish_seen_subcommand_from add list remove reset help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and __fish_seen_subcommand_from add" -l tenant -d 'Slug of the tenant (commune, group or the platform) their role holds on, with everything below it' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and __fish_seen_subcommand_from add" -l email -d 'Their e-mail: it is their login' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and __fish_seen_subcommand_from add" -l name -d 'Their name, as the console shows it ("Anne Martin")' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and __fish_seen_subcommand_from add" -l role -d 'admin (everything of the tenant: users, settings, topics, schedules), sender (sends and cancels alerts), drafter (drafts alerts, manages subscribers) or reader (history and status, addresses masked)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and __fish_seen_subcommand_from add" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and __fish_seen_subcommand_from add" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and __fish_seen_subcommand_from list" -l tenant -r
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and __fish_seen_subcommand_from list" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and __fish_seen_subcommand_from list" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and __fish_seen_subcommand_from list" -l json -d 'One JSON document, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and __fish_seen_subcommand_from remove" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and __fish_seen_subcommand_from remove" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and __fish_seen_subcommand_from reset" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and __fish_seen_subcommand_from reset" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and __fish_seen_subcommand_from reset" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "add" -d 'Invite a person: prints their one-time invitation link (valid 72 h) on stdout'
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the people of a tenant and of those below it (every one without --tenant)'
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a person: they can no longer sign in, their sessions end'
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "reset" -d 'Start a person over (a forgotten password, a lost phone): prints a new invitation link, their password and second factor are cleared and their sessions end'
complete -c tocsin -n "__fish_tocsin_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand secrets; and not __fish_seen_subcommand_from status rotate retire help" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand secrets; and not __fish_seen_subcommand_from status rotate retire help" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand secrets; and not __fish_seen_subcommand_from status rotate retire help" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand secrets; and not __fish_seen_subcommand_from status rotate retire help" -f -a "status" -d 'List the key versions: which secret each derives from, what still depends on it'
complete -c tocsin -n "__fish_tocsin_using_subcommand secrets; and not __fish_seen_subcommand_from status rotate retire help" -f -a "rotate" -d 'Start a new key version under `api_key_secret`, and seal every stored secret (DKIM keys, the platform\'s keys) with it. Nothing stops working: links, callback URLs and API keys of older versions keep opening until `secrets retire`. After changing the secret, keep the old one as `api_key_secret_previous` until then'
complete -c tocsin -n "__fish_tocsin_using_subcommand secrets; and not __fish_seen_subcommand_from status rotate retire help" -f -a "retire" -d 'End every version older than the current one: unsubscribe and confirmation links sent before the rotation stop opening, providers must call the callback URLs `tenant show` prints now, and API keys not used since the rotation are revoked (they are listed)'
complete -c tocsin -n "__fish_tocsin_using_subcommand secrets; and not __fish_seen_subcommand_from status rotate retire help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand secrets; and __fish_seen_subcommand_from status" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand secrets; and __fish_seen_subcommand_from status" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand secrets; and __fish_seen_subcommand_from status" -l json -d 'One JSON document, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand secrets; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand secrets; and __fish_seen_subcommand_from rotate" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand secrets; and __fish_seen_subcommand_from rotate" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand secrets; and __fish_seen_subcommand_from rotate" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand secrets; and __fish_seen_subcommand_from retire" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand secrets; and __fish_seen_subcommand_from retire" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand secrets; and __fish_seen_subcommand_from retire" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand secrets; and __fish_seen_subcommand_from help" -f -a "status" -d 'List the key versions: which secret each derives from, what still depends on it'
complete -c tocsin -n "__fish_tocsin_using_subcommand secrets; and __fish_seen_subcommand_from help" -f -a "rotate" -d 'Start a new key version under `api_key_secret`, and seal every stored secret (DKIM keys, the platform\'s keys) with it. Nothing stops working: links, callback URLs and API keys of older versions keep opening until `secrets retire`. After changing the secret, keep the old one as `api_key_secret_previous` until then'
complete -c tocsin -n "__fish_tocsin_using_subcommand secrets; and __fish_seen_subcommand_from help" -f -a "retire" -d 'End every version older than the current one: unsubscribe and confirmation links sent before the rotation stop opening, providers must call the callback URLs `tenant show` prints now, and API keys not used since the rotation are revoked (they are listed)'
complete -c tocsin -n "__fish_tocsin_using_subcommand secrets; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand alert; and not __fish_seen_subcommand_from proof help" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand alert; and not __fish_seen_subcommand_from proof help" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand alert; and not __fish_seen_subcommand_from proof help" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand alert; and not __fish_seen_subcommand_from proof help" -f -a "proof" -d 'The proof that an alert was sent: who sent it and when, its texts, its recipients and what became of each message, its audit entries; a PDF in French and a CSV (masked)'
complete -c tocsin -n "__fish_tocsin_using_subcommand alert; and not __fish_seen_subcommand_from proof help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand alert; and __fish_seen_subcommand_from proof" -l pdf -d 'Where to write the PDF' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand alert; and __fish_seen_subcommand_from proof" -l csv -d 'Where to write the recipients, one line each (addresses masked)' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand alert; and __fish_seen_subcommand_from proof" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand alert; and __fish_seen_subcommand_from proof" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand alert; and __fish_seen_subcommand_from proof" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand alert; and __fish_seen_subcommand_from help" -f -a "proof" -d 'The proof that an alert was sent: who sent it and when, its texts, its recipients and what became of each message, its audit entries; a PDF in French and a CSV (masked)'
complete -c tocsin -n "__fish_tocsin_using_subcommand alert; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand audit; and not __fish_seen_subcommand_from list verify help" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand audit; and not __fish_seen_subcommand_from list verify help" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand audit; and not __fish_seen_subcommand_from list verify help" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand audit; and not __fish_seen_subcommand_from list verify help" -f -a "list" -d 'Show the entries, oldest first: of a tenant and its subtree, or all of them'
complete -c tocsin -n "__fish_tocsin_using_subcommand audit; and not __fish_seen_subcommand_from list verify help" -f -a "verify" -d 'Recompute the chain of hashes and name the first entry that no longer matches'
complete -c tocsin -n "__fish_tocsin_using_subcommand audit; and not __fish_seen_subcommand_from list verify help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand audit; and __fish_seen_subcommand_from list" -l tenant -r
complete -c tocsin -n "__fish_tocsin_using_subcommand audit; and __fish_seen_subcommand_from list" -l since -d 'Entries from this time on (RFC 3339, or a date: 2026-11-01)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand audit; and __fish_seen_subcommand_from list" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand audit; and __fish_seen_subcommand_from list" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand audit; and __fish_seen_subcommand_from list" -l json -d 'One JSON document, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand audit; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand audit; and __fish_seen_subcommand_from verify" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand audit; and __fish_seen_subcommand_from verify" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand audit; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "list" -d 'Show the entries, oldest first: of a tenant and its subtree, or all of them'
complete -c tocsin -n "__fish_tocsin_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Recompute the chain of hashes and name the first entry that no longer matches'
complete -c tocsin -n "__fish_tocsin_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand usage" -l month -d 'The month, as 2026-11: alerts that started in it on their commune\'s clock' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand usage" -l tenant -d 'Only this tenant and what is below it; the whole platform when not given' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand usage" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand usage" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand usage" -l csv -d 'One line per tenant, comma-separated, with a header'
complete -c tocsin -n "__fish_tocsin_using_subcommand usage" -l json -d 'One JSON document, as `GET /v1/usage` gives it'
complete -c tocsin -n "__fish_tocsin_using_subcommand usage" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand doctor" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand doctor" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tocsin -n "__fish_tocsin_using_subcommand healthcheck" -l url -d 'Ask this URL instead' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand healthcheck" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand healthcheck" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand healthcheck" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand config; and not __fish_seen_subcommand_from check help" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand config; and not __fish_seen_subcommand_from check help" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand config; and not __fish_seen_subcommand_from check help" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand config; and not __fish_seen_subcommand_from check help" -f -a "check" -d 'Validate the configuration without starting anything'
complete -c tocsin -n "__fish_tocsin_using_subcommand config; and not __fish_seen_subcommand_from check help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand config; and __fish_seen_subcommand_from check" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand config; and __fish_seen_subcommand_from check" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand config; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "check" -d 'Validate the configuration without starting anything'
complete -c tocsin -n "__fish_tocsin_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand dead; and not __fish_seen_subcommand_from list replay help" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand dead; and not __fish_seen_subcommand_from list replay help" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand dead; and not __fish_seen_subcommand_from list replay help" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand dead; and not __fish_seen_subcommand_from list replay help" -f -a "list" -d 'Show the messages in the dead-letter queue, with the queue they died in and why; they stay in it'
complete -c tocsin -n "__fish_tocsin_using_subcommand dead; and not __fish_seen_subcommand_from list replay help" -f -a "replay" -d 'Put dead messages back into the queue they died in (after fixing what killed them)'
complete -c tocsin -n "__fish_tocsin_using_subcommand dead; and not __fish_seen_subcommand_from list replay help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand dead; and __fish_seen_subcommand_from list" -l limit -d 'Show at most this many, oldest first' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand dead; and __fish_seen_subcommand_from list" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand dead; and __fish_seen_subcommand_from list" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand dead; and __fish_seen_subcommand_from list" -l json -d 'One JSON document, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand dead; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand dead; and __fish_seen_subcommand_from replay" -l limit -d 'Replay at most this many, oldest first' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand dead; and __fish_seen_subcommand_from replay" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand dead; and __fish_seen_subcommand_from replay" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand dead; and __fish_seen_subcommand_from replay" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand dead; and __fish_seen_subcommand_from help" -f -a "list" -d 'Show the messages in the dead-letter queue, with the queue they died in and why; they stay in it'
complete -c tocsin -n "__fish_tocsin_using_subcommand dead; and __fish_seen_subcommand_from help" -f -a "replay" -d 'Put dead messages back into the queue they died in (after fixing what killed them)'
complete -c tocsin -n "__fish_tocsin_using_subcommand dead; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand vapid; and not __fish_seen_subcommand_from generate help" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand vapid; and not __fish_seen_subcommand_from generate help" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand vapid; and not __fish_seen_subcommand_from generate help" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand vapid; and not __fish_seen_subcommand_from generate help" -f -a "generate" -d 'Make a VAPID key pair: set the private key as TOCSIN_VAPID_PRIVATE_KEY (with TOCSIN_VAPID_SUBJECT); browsers subscribe with the public one'
complete -c tocsin -n "__fish_tocsin_using_subcommand vapid; and not __fish_seen_subcommand_from generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand vapid; and __fish_seen_subcommand_from generate" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand vapid; and __fish_seen_subcommand_from generate" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand vapid; and __fish_seen_subcommand_from generate" -l json -d 'One JSON document, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand vapid; and __fish_seen_subcommand_from generate" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand vapid; and __fish_seen_subcommand_from help" -f -a "generate" -d 'Make a VAPID key pair: set the private key as TOCSIN_VAPID_PRIVATE_KEY (with TOCSIN_VAPID_SUBJECT); browsers subscribe with the public one'
complete -c tocsin -n "__fish_tocsin_using_subcommand vapid; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand topics; and not __fish_seen_subcommand_from add list help" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand topics; and not __fish_seen_subcommand_from add list help" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand topics; and not __fish_seen_subcommand_from add list help" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand topics; and not __fish_seen_subcommand_from add list help" -f -a "add" -d 'Create a topic: `tocsin topics add intemperies --name "Intempéries"`'
complete -c tocsin -n "__fish_tocsin_using_subcommand topics; and not __fish_seen_subcommand_from add list help" -f -a "list" -d 'List the tenant\'s topics'
complete -c tocsin -n "__fish_tocsin_using_subcommand topics; and not __fish_seen_subcommand_from add list help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand topics; and __fish_seen_subcommand_from add" -l name -r
complete -c tocsin -n "__fish_tocsin_using_subcommand topics; and __fish_seen_subcommand_from add" -l url -d 'Base URL of the Tocsin API' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand topics; and __fish_seen_subcommand_from add" -l api-key -d 'API key of the tenant (printed once by `tocsin key create`)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand topics; and __fish_seen_subcommand_from add" -l tenant -d 'With a key given on a group or the platform: the slug of the tenant of its subtree to act on (sent as `Tocsin-Tenant`). Default: the key\'s own tenant' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand topics; and __fish_seen_subcommand_from add" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand topics; and __fish_seen_subcommand_from add" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand topics; and __fish_seen_subcommand_from add" -l json -d 'Print the API\'s JSON answer, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand topics; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand topics; and __fish_seen_subcommand_from list" -l url -d 'Base URL of the Tocsin API' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand topics; and __fish_seen_subcommand_from list" -l api-key -d 'API key of the tenant (printed once by `tocsin key create`)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand topics; and __fish_seen_subcommand_from list" -l tenant -d 'With a key given on a group or the platform: the slug of the tenant of its subtree to act on (sent as `Tocsin-Tenant`). Default: the key\'s own tenant' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand topics; and __fish_seen_subcommand_from list" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand topics; and __fish_seen_subcommand_from list" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand topics; and __fish_seen_subcommand_from list" -l json -d 'Print the API\'s JSON answer, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand topics; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand topics; and __fish_seen_subcommand_from help" -f -a "add" -d 'Create a topic: `tocsin topics add intemperies --name "Intempéries"`'
complete -c tocsin -n "__fish_tocsin_using_subcommand topics; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the tenant\'s topics'
complete -c tocsin -n "__fish_tocsin_using_subcommand topics; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and not __fish_seen_subcommand_from add import list show export remove help" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and not __fish_seen_subcommand_from add import list show export remove help" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and not __fish_seen_subcommand_from add import list show export remove help" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and not __fish_seen_subcommand_from add import list show export remove help" -f -a "add" -d 'Add a subscriber (or add topics to the one with this phone, e-mail or fixed line)'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and not __fish_seen_subcommand_from add import list show export remove help" -f -a "import" -d 'Import a CSV file with the header `phone,email,topics` (topics separated by `;`), and optionally a `landline` column'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and not __fish_seen_subcommand_from add import list show export remove help" -f -a "list" -d 'List every subscriber'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and not __fish_seen_subcommand_from add import list show export remove help" -f -a "show" -d 'Show a subscriber: addresses, topics, and their consents (when, how, for what)'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and not __fish_seen_subcommand_from add import list show export remove help" -f -a "export" -d 'Print everything held about a subscriber as JSON (right of access): addresses, topics, consents and the messages sent to them'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and not __fish_seen_subcommand_from add import list show export remove help" -f -a "remove" -d 'Remove a subscriber by id (sub_…)'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and not __fish_seen_subcommand_from add import list show export remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from add" -l phone -d 'Mobile number, French national form or international (+33…): SMS, and calls when an alert names voice' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from add" -l email -r
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from add" -l landline -d 'Fixed line ("03 29 84 12 34", a home box\'s 09…): called by voice only' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from add" -l topic -d 'Topic slug; repeat the flag or separate with commas' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from add" -l url -d 'Base URL of the Tocsin API' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from add" -l api-key -d 'API key of the tenant (printed once by `tocsin key create`)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from add" -l tenant -d 'With a key given on a group or the platform: the slug of the tenant of its subtree to act on (sent as `Tocsin-Tenant`). Default: the key\'s own tenant' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from add" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from add" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from add" -l json -d 'Print the API\'s JSON answer, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from import" -l url -d 'Base URL of the Tocsin API' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from import" -l api-key -d 'API key of the tenant (printed once by `tocsin key create`)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from import" -l tenant -d 'With a key given on a group or the platform: the slug of the tenant of its subtree to act on (sent as `Tocsin-Tenant`). Default: the key\'s own tenant' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from import" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from import" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from import" -l json -d 'Print the API\'s JSON answer, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from list" -l url -d 'Base URL of the Tocsin API' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from list" -l api-key -d 'API key of the tenant (printed once by `tocsin key create`)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from list" -l tenant -d 'With a key given on a group or the platform: the slug of the tenant of its subtree to act on (sent as `Tocsin-Tenant`). Default: the key\'s own tenant' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from list" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from list" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from list" -l json -d 'Print the API\'s JSON answer, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from show" -l url -d 'Base URL of the Tocsin API' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from show" -l api-key -d 'API key of the tenant (printed once by `tocsin key create`)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from show" -l tenant -d 'With a key given on a group or the platform: the slug of the tenant of its subtree to act on (sent as `Tocsin-Tenant`). Default: the key\'s own tenant' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from show" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from show" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from show" -l json -d 'Print the API\'s JSON answer, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from export" -l url -d 'Base URL of the Tocsin API' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from export" -l api-key -d 'API key of the tenant (printed once by `tocsin key create`)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from export" -l tenant -d 'With a key given on a group or the platform: the slug of the tenant of its subtree to act on (sent as `Tocsin-Tenant`). Default: the key\'s own tenant' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from export" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from export" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from export" -l json -d 'Print the API\'s JSON answer, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from remove" -l url -d 'Base URL of the Tocsin API' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from remove" -l api-key -d 'API key of the tenant (printed once by `tocsin key create`)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from remove" -l tenant -d 'With a key given on a group or the platform: the slug of the tenant of its subtree to act on (sent as `Tocsin-Tenant`). Default: the key\'s own tenant' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from remove" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from remove" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from remove" -l json -d 'Print the API\'s JSON answer, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a subscriber (or add topics to the one with this phone, e-mail or fixed line)'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from help" -f -a "import" -d 'Import a CSV file with the header `phone,email,topics` (topics separated by `;`), and optionally a `landline` column'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from help" -f -a "list" -d 'List every subscriber'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show a subscriber: addresses, topics, and their consents (when, how, for what)'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from help" -f -a "export" -d 'Print everything held about a subscriber as JSON (right of access): addresses, topics, consents and the messages sent to them'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a subscriber by id (sub_…)'
complete -c tocsin -n "__fish_tocsin_using_subcommand subscribers; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand send" -l topic -d 'Topic slug whose subscribers receive the alert' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand send" -l text -d 'The message' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand send" -l subject -d 'E-mail subject (default: derived from the text)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand send" -l channels -d 'Channels, comma-separated: sms, email, push, voice (default: sms, email and push, and voice to fixed lines where the commune turned it on; naming voice calls mobiles too)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand send" -l idempotency-key -d 'Sending again with the same key returns the same alert instead of a second one' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand send" -l expires -d 'After this long nothing more is sent and what is left expires: `90s`, `30m`, `2h`, `1d` (default: 6h for urgent alerts, 24h for others)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand send" -l at -d 'Start later: "2026-12-01 07:00" (the commune\'s local time) or RFC 3339 with an offset. Until then `tocsin cancel ID` calls it off' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand send" -l communes -d 'With a group\'s key: `all`, or the member communes\' slugs separated by commas. Each commune\'s subscribers of the topic get it from their commune\'s own sender' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand send" -l url -d 'Base URL of the Tocsin API' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand send" -l api-key -d 'API key of the tenant (printed once by `tocsin key create`)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand send" -l tenant -d 'With a key given on a group or the platform: the slug of the tenant of its subtree to act on (sent as `Tocsin-Tenant`). Default: the key\'s own tenant' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand send" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand send" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand send" -l urgent -d 'Urgent alerts travel in their own lane, ahead of routine messages'
complete -c tocsin -n "__fish_tocsin_using_subcommand send" -l wait -d 'Show progress until every delivery has left the queue, then print the report'
complete -c tocsin -n "__fish_tocsin_using_subcommand send" -l dry-run -d 'Send nothing: print whom it would reach, the SMS encoding and segments, and the cost'
complete -c tocsin -n "__fish_tocsin_using_subcommand send" -l gsm7 -d 'Rewrite the text to stay in GSM-7 (ê→e, ’→\', « »→", no-break spaces→spaces): more characters per SMS; with --dry-run, segments before and after are shown'
complete -c tocsin -n "__fish_tocsin_using_subcommand send" -l exercise -d 'A drill: every message begins with "EXERCICE – ", and it counts apart from real alerts'
complete -c tocsin -n "__fish_tocsin_using_subcommand send" -l until-acknowledged -d 'Calls not confirmed (no answer, busy, hung up, an answering machine) are placed again until the citizen presses 1, up to `[voice] max_calls`'
complete -c tocsin -n "__fish_tocsin_using_subcommand send" -l json -d 'Print the API\'s JSON answer, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand send" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand status" -l url -d 'Base URL of the Tocsin API' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand status" -l api-key -d 'API key of the tenant (printed once by `tocsin key create`)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand status" -l tenant -d 'With a key given on a group or the platform: the slug of the tenant of its subtree to act on (sent as `Tocsin-Tenant`). Default: the key\'s own tenant' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand status" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand status" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand status" -l failed -d 'List the deliveries that failed, with their masked address and reason: whom to phone'
complete -c tocsin -n "__fish_tocsin_using_subcommand status" -l unacknowledged -d 'List the deliveries of everyone who did not confirm the alert (pressed 1), reached or not, masked: whom to check on'
complete -c tocsin -n "__fish_tocsin_using_subcommand status" -l json -d 'Print the API\'s JSON answer, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand status" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand cancel" -l url -d 'Base URL of the Tocsin API' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand cancel" -l api-key -d 'API key of the tenant (printed once by `tocsin key create`)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand cancel" -l tenant -d 'With a key given on a group or the platform: the slug of the tenant of its subtree to act on (sent as `Tocsin-Tenant`). Default: the key\'s own tenant' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand cancel" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand cancel" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand cancel" -l json -d 'Print the API\'s JSON answer, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand cancel" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand stop" -l url -d 'Base URL of the Tocsin API' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand stop" -l api-key -d 'API key of the tenant (printed once by `tocsin key create`)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand stop" -l tenant -d 'With a key given on a group or the platform: the slug of the tenant of its subtree to act on (sent as `Tocsin-Tenant`). Default: the key\'s own tenant' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand stop" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand stop" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand stop" -l json -d 'Print the API\'s JSON answer, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand stop" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and not __fish_seen_subcommand_from add list pause resume remove next runs help" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and not __fish_seen_subcommand_from add list pause resume remove next runs help" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and not __fish_seen_subcommand_from add list pause resume remove next runs help" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and not __fish_seen_subcommand_from add list pause resume remove next runs help" -f -a "add" -d 'Send an alert at every occurrence of a cron expression, on the commune\'s local clock: `tocsin schedule add --topic dechets --cron "0 19 * * MON" --text "…"`'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and not __fish_seen_subcommand_from add list pause resume remove next runs help" -f -a "list" -d 'List the tenant\'s schedules with their next occurrence'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and not __fish_seen_subcommand_from add list pause resume remove next runs help" -f -a "pause" -d 'Pause a schedule: nothing is sent until it is resumed'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and not __fish_seen_subcommand_from add list pause resume remove next runs help" -f -a "resume" -d 'Resume a paused schedule from now on'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and not __fish_seen_subcommand_from add list pause resume remove next runs help" -f -a "remove" -d 'Remove a schedule'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and not __fish_seen_subcommand_from add list pause resume remove next runs help" -f -a "next" -d 'Show the next occurrences in local time, to check a schedule before trusting it'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and not __fish_seen_subcommand_from add list pause resume remove next runs help" -f -a "runs" -d 'Show what became of past occurrences: fired (with the alert), missed or failed'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and not __fish_seen_subcommand_from add list pause resume remove next runs help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from add" -l topic -d 'Topic slug whose subscribers receive each alert' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from add" -l cron -d 'Five fields: minute hour day-of-month month day-of-week ("0 19 * * MON")' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from add" -l text -d 'The message' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from add" -l tz -d 'IANA time zone (Europe/Paris, Indian/Reunion…); the tenant\'s when absent' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from add" -l channels -d 'Channels, comma-separated: sms, email (default: both)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from add" -l subject -d 'E-mail subject (default: derived from the text)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from add" -l expires -d 'What is left unsent this long after each start expires: `30m`, `2h`, `1d`' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from add" -l url -d 'Base URL of the Tocsin API' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from add" -l api-key -d 'API key of the tenant (printed once by `tocsin key create`)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from add" -l tenant -d 'With a key given on a group or the platform: the slug of the tenant of its subtree to act on (sent as `Tocsin-Tenant`). Default: the key\'s own tenant' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from add" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from add" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from add" -l urgent -d 'Urgent occurrences ignore quiet hours'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from add" -l json -d 'Print the API\'s JSON answer, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from list" -l url -d 'Base URL of the Tocsin API' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from list" -l api-key -d 'API key of the tenant (printed once by `tocsin key create`)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from list" -l tenant -d 'With a key given on a group or the platform: the slug of the tenant of its subtree to act on (sent as `Tocsin-Tenant`). Default: the key\'s own tenant' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from list" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from list" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from list" -l json -d 'Print the API\'s JSON answer, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from pause" -l url -d 'Base URL of the Tocsin API' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from pause" -l api-key -d 'API key of the tenant (printed once by `tocsin key create`)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from pause" -l tenant -d 'With a key given on a group or the platform: the slug of the tenant of its subtree to act on (sent as `Tocsin-Tenant`). Default: the key\'s own tenant' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from pause" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from pause" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from pause" -l json -d 'Print the API\'s JSON answer, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from pause" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from resume" -l url -d 'Base URL of the Tocsin API' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from resume" -l api-key -d 'API key of the tenant (printed once by `tocsin key create`)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from resume" -l tenant -d 'With a key given on a group or the platform: the slug of the tenant of its subtree to act on (sent as `Tocsin-Tenant`). Default: the key\'s own tenant' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from resume" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from resume" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from resume" -l json -d 'Print the API\'s JSON answer, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from resume" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from remove" -l url -d 'Base URL of the Tocsin API' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from remove" -l api-key -d 'API key of the tenant (printed once by `tocsin key create`)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from remove" -l tenant -d 'With a key given on a group or the platform: the slug of the tenant of its subtree to act on (sent as `Tocsin-Tenant`). Default: the key\'s own tenant' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from remove" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from remove" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from remove" -l json -d 'Print the API\'s JSON answer, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from next" -l count -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from next" -l url -d 'Base URL of the Tocsin API' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from next" -l api-key -d 'API key of the tenant (printed once by `tocsin key create`)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from next" -l tenant -d 'With a key given on a group or the platform: the slug of the tenant of its subtree to act on (sent as `Tocsin-Tenant`). Default: the key\'s own tenant' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from next" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from next" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from next" -l json -d 'Print the API\'s JSON answer, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from next" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from runs" -l url -d 'Base URL of the Tocsin API' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from runs" -l api-key -d 'API key of the tenant (printed once by `tocsin key create`)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from runs" -l tenant -d 'With a key given on a group or the platform: the slug of the tenant of its subtree to act on (sent as `Tocsin-Tenant`). Default: the key\'s own tenant' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from runs" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from runs" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from runs" -l json -d 'Print the API\'s JSON answer, for scripts'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from runs" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from help" -f -a "add" -d 'Send an alert at every occurrence of a cron expression, on the commune\'s local clock: `tocsin schedule add --topic dechets --cron "0 19 * * MON" --text "…"`'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the tenant\'s schedules with their next occurrence'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from help" -f -a "pause" -d 'Pause a schedule: nothing is sent until it is resumed'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from help" -f -a "resume" -d 'Resume a paused schedule from now on'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a schedule'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from help" -f -a "next" -d 'Show the next occurrences in local time, to check a schedule before trusting it'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from help" -f -a "runs" -d 'Show what became of past occurrences: fired (with the alert), missed or failed'
complete -c tocsin -n "__fish_tocsin_using_subcommand schedule; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand demo" -l subscribers -d 'Number of demo subscribers (each has a phone number; two in three an e-mail too)' -r
complete -c tocsin -n "__fish_tocsin_using_subcommand demo" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand demo" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand demo" -l serve -d 'Keep the daemon running after the alert, and print the console\'s address with a one-time link for a demo admin (Ctrl-C stops it)'
complete -c tocsin -n "__fish_tocsin_using_subcommand demo" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand completions" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand completions" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand completions" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand man-pages" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand man-pages" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand man-pages" -s h -l help -d 'Print help'
complete -c tocsin -n "__fish_tocsin_using_subcommand bench" -l config -d 'Configuration file (TOML); TOCSIN_* environment variables override it' -r -F
complete -c tocsin -n "__fish_tocsin_using_subcommand bench" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "migrate" -d 'Create the database if needed and apply its migrations: an explicit step, after installing and before restarting on each upgrade (`serve` refuses a database that needs them)'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "serve" -d 'Run the daemon: HTTP API, fan-out and senders, consuming from RabbitMQ'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "tenant" -d 'Manage tenants (communes, intercommunalities, départements)'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "key" -d 'Manage API keys'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "user" -d 'People of the console: invite, list, remove, start over'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "secrets" -d 'Rotate the keys derived from the server\'s secret, and retire the old ones'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "alert" -d 'An alert\'s proof (`alert proof alr_… --pdf proof.pdf --csv recipients.csv`)'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "audit" -d 'The audit log: list its entries, verify its chain'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "usage" -d 'A month\'s usage per tenant, for re-invoicing: alerts, messages, SMS segments, cost'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "doctor" -d 'Check what a running Tocsin needs, one line each, with the fix of what fails'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "healthcheck" -d 'Ask this machine\'s instance whether it is ready (`/readyz`, at http_addr): exits with 0 when it is. The container image\'s health check'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "config" -d 'Check the configuration'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "dead" -d 'Inspect and replay the dead-letter queue'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "vapid" -d 'Web Push identity (VAPID)'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "topics" -d 'Manage topics (through the API)'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "subscribers" -d 'Manage subscribers (through the API)'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "send" -d 'Send an alert (through the API)'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "status" -d 'Show an alert\'s delivery report (through the API)'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "cancel" -d 'Cancel an alert that has not started yet (timed with `send --at`, or waiting for the end of quiet hours)'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "stop" -d 'Stop an alert under way, sent by mistake: nothing more of it leaves (the batches being sent finish); one that has not started is cancelled'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "schedule" -d 'Recurring alerts on the commune\'s local clock (through the API)'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "demo" -d 'Rehearse: a demo commune with a few thousand subscribers, an urgent alert through the real pipeline to simulated providers, and its delivery report'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "completions" -d 'Print the completion script of a shell (bash, zsh, fish) on stdout'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "man-pages" -d 'Write the man pages into a directory (the package\'s are made this way)'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "bench" -d 'Measure how fast a whole commune is warned, against this machine\'s own ceilings (from a source checkout: runs `tocsin-bench`, built when stale; its options: `tocsin bench --help`)'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and not __fish_seen_subcommand_from migrate serve tenant key user secrets alert audit usage doctor healthcheck config dead vapid topics subscribers send status cancel stop schedule demo completions man-pages bench help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from tenant" -f -a "create" -d 'Create a tenant: `tocsin tenant create bras-sur-meuse --name "Bras-sur-Meuse" --parent cc-verdun`, `tocsin tenant create cc-verdun --kind group --name "CA du Grand Verdun"`'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from tenant" -f -a "move" -d 'Move a tenant, with everything below it, under another group (or the platform): `tocsin tenant move charny-sur-meuse --parent cc-argonne`'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from tenant" -f -a "tree" -d 'Show the tree of tenants: the platform, its groups and their communes'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from tenant" -f -a "update" -d 'Change a tenant\'s settings, at once, without a restart: `tocsin tenant update bras-sur-meuse --timezone Europe/Paris --quiet-hours 21:00-08:00`, `--sms-account bras --sms-sender MAIRIEBRAS --email-from "Mairie <alertes@bras.fr>"`'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from tenant" -f -a "show" -d 'Show a tenant\'s settings'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "create" -d 'Create an API key and print it, alone, on stdout; it is shown only this once'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "revoke" -d 'Revoke an API key by its id (printed on stderr by `key create`)'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "add" -d 'Invite a person: prints their one-time invitation link (valid 72 h) on stdout'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "list" -d 'List the people of a tenant and of those below it (every one without --tenant)'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "remove" -d 'Remove a person: they can no longer sign in, their sessions end'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "reset" -d 'Start a person over (a forgotten password, a lost phone): prints a new invitation link, their password and second factor are cleared and their sessions end'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from secrets" -f -a "status" -d 'List the key versions: which secret each derives from, what still depends on it'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from secrets" -f -a "rotate" -d 'Start a new key version under `api_key_secret`, and seal every stored secret (DKIM keys, the platform\'s keys) with it. Nothing stops working: links, callback URLs and API keys of older versions keep opening until `secrets retire`. After changing the secret, keep the old one as `api_key_secret_previous` until then'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from secrets" -f -a "retire" -d 'End every version older than the current one: unsubscribe and confirmation links sent before the rotation stop opening, providers must call the callback URLs `tenant show` prints now, and API keys not used since the rotation are revoked (they are listed)'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from alert" -f -a "proof" -d 'The proof that an alert was sent: who sent it and when, its texts, its recipients and what became of each message, its audit entries; a PDF in French and a CSV (masked)'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from audit" -f -a "list" -d 'Show the entries, oldest first: of a tenant and its subtree, or all of them'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from audit" -f -a "verify" -d 'Recompute the chain of hashes and name the first entry that no longer matches'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "check" -d 'Validate the configuration without starting anything'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from dead" -f -a "list" -d 'Show the messages in the dead-letter queue, with the queue they died in and why; they stay in it'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from dead" -f -a "replay" -d 'Put dead messages back into the queue they died in (after fixing what killed them)'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from vapid" -f -a "generate" -d 'Make a VAPID key pair: set the private key as TOCSIN_VAPID_PRIVATE_KEY (with TOCSIN_VAPID_SUBJECT); browsers subscribe with the public one'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from topics" -f -a "add" -d 'Create a topic: `tocsin topics add intemperies --name "Intempéries"`'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from topics" -f -a "list" -d 'List the tenant\'s topics'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from subscribers" -f -a "add" -d 'Add a subscriber (or add topics to the one with this phone, e-mail or fixed line)'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from subscribers" -f -a "import" -d 'Import a CSV file with the header `phone,email,topics` (topics separated by `;`), and optionally a `landline` column'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from subscribers" -f -a "list" -d 'List every subscriber'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from subscribers" -f -a "show" -d 'Show a subscriber: addresses, topics, and their consents (when, how, for what)'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from subscribers" -f -a "export" -d 'Print everything held about a subscriber as JSON (right of access): addresses, topics, consents and the messages sent to them'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from subscribers" -f -a "remove" -d 'Remove a subscriber by id (sub_…)'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from schedule" -f -a "add" -d 'Send an alert at every occurrence of a cron expression, on the commune\'s local clock: `tocsin schedule add --topic dechets --cron "0 19 * * MON" --text "…"`'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from schedule" -f -a "list" -d 'List the tenant\'s schedules with their next occurrence'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from schedule" -f -a "pause" -d 'Pause a schedule: nothing is sent until it is resumed'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from schedule" -f -a "resume" -d 'Resume a paused schedule from now on'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from schedule" -f -a "remove" -d 'Remove a schedule'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from schedule" -f -a "next" -d 'Show the next occurrences in local time, to check a schedule before trusting it'
complete -c tocsin -n "__fish_tocsin_using_subcommand help; and __fish_seen_subcommand_from schedule" -f -a "runs" -d 'Show what became of past occurrences: fired (with the alert), missed or failed'
