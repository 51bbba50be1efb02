# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_bpstudio_op_global_optspecs
    string join \n profile= config= region= endpoint= o/output= color= q/quiet v/verbose connect-timeout= read-timeout= retries= signature-version= h/help V/version
end

function __fish_bpstudio_op_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_bpstudio_op_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_bpstudio_op_using_subcommand
    set -l cmd (__fish_bpstudio_op_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c bpstudio-op -n "__fish_bpstudio_op_needs_command" -l profile -d 'Profile to use, from this tool\'s config file or the aliyun CLI\'s' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_needs_command" -l config -d 'Config file [default: <config dir>/bpstudio-op/config.toml]' -r -F
complete -c bpstudio-op -n "__fish_bpstudio_op_needs_command" -l region -d 'Region of the BPStudio endpoint: cn-hangzhou (default) or ap-southeast-1' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_needs_command" -l endpoint -d 'Endpoint URL or host, overriding the region\'s (plain http:// only to loopback)' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_needs_command" -s o -l output -d 'Output format [default: table]' -r -f -a "table\t'Human-readable'
json\t'The API\'s JSON, pretty-printed'"
complete -c bpstudio-op -n "__fish_bpstudio_op_needs_command" -l color -d 'When to colour the output (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c bpstudio-op -n "__fish_bpstudio_op_needs_command" -l connect-timeout -d 'Time allowed to open a connection' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_needs_command" -l read-timeout -d 'Time allowed for a whole response once connected' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_needs_command" -l retries -d 'Retries of a request after a network error, 5xx or throttling' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_needs_command" -l signature-version -d 'Request signature: v1 (HMAC-SHA1, default) or v3 (ACS3-HMAC-SHA256)' -r -f -a "v1\t'`HMAC-SHA1`, `SignatureVersion=1.0`'
v3\t'`ACS3-HMAC-SHA256`'"
complete -c bpstudio-op -n "__fish_bpstudio_op_needs_command" -s q -l quiet -d 'Print nothing but results and errors'
complete -c bpstudio-op -n "__fish_bpstudio_op_needs_command" -s v -l verbose -d 'Trace each request and response on stderr (secrets redacted)'
complete -c bpstudio-op -n "__fish_bpstudio_op_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bpstudio-op -n "__fish_bpstudio_op_needs_command" -s V -l version -d 'Print version'
complete -c bpstudio-op -n "__fish_bpstudio_op_needs_command" -f -a "get" -d 'Show the status of one or more operations, once'
complete -c bpstudio-op -n "__fish_bpstudio_op_needs_command" -f -a "wait" -d 'Wait until every operation succeeds or fails, then print the results'
complete -c bpstudio-op -n "__fish_bpstudio_op_needs_command" -f -a "watch" -d 'Like wait, with a live view of each operation on stderr'
complete -c bpstudio-op -n "__fish_bpstudio_op_needs_command" -f -a "configure" -d 'Create or update a profile in the config file'
complete -c bpstudio-op -n "__fish_bpstudio_op_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c bpstudio-op -n "__fish_bpstudio_op_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand get" -l resource-group-id -d 'Resource group the operations belong to' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand get" -l profile -d 'Profile to use, from this tool\'s config file or the aliyun CLI\'s' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand get" -l config -d 'Config file [default: <config dir>/bpstudio-op/config.toml]' -r -F
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand get" -l region -d 'Region of the BPStudio endpoint: cn-hangzhou (default) or ap-southeast-1' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand get" -l endpoint -d 'Endpoint URL or host, overriding the region\'s (plain http:// only to loopback)' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand get" -s o -l output -d 'Output format [default: table]' -r -f -a "table\t'Human-readable'
json\t'The API\'s JSON, pretty-printed'"
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand get" -l color -d 'When to colour the output (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand get" -l connect-timeout -d 'Time allowed to open a connection' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand get" -l read-timeout -d 'Time allowed for a whole response once connected' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand get" -l retries -d 'Retries of a request after a network error, 5xx or throttling' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand get" -l signature-version -d 'Request signature: v1 (HMAC-SHA1, default) or v3 (ACS3-HMAC-SHA256)' -r -f -a "v1\t'`HMAC-SHA1`, `SignatureVersion=1.0`'
v3\t'`ACS3-HMAC-SHA256`'"
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand get" -l exit-status -d 'Exit 1 for FAILURE and 8 for INIT/RUNNING, not only 0'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand get" -s q -l quiet -d 'Print nothing but results and errors'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand get" -s v -l verbose -d 'Trace each request and response on stderr (secrets redacted)'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand get" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand get" -s V -l version -d 'Print version'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand wait" -l resource-group-id -d 'Resource group the operations belong to' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand wait" -l timeout -d 'Give up after this long (exit 124) [default: 60m]' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand wait" -l interval -d 'First delay between polls of an operation [default: 2s]' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand wait" -l max-interval -d 'Longest delay between polls while nothing changes' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand wait" -l concurrency -d 'Most requests in flight at once' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand wait" -l profile -d 'Profile to use, from this tool\'s config file or the aliyun CLI\'s' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand wait" -l config -d 'Config file [default: <config dir>/bpstudio-op/config.toml]' -r -F
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand wait" -l region -d 'Region of the BPStudio endpoint: cn-hangzhou (default) or ap-southeast-1' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand wait" -l endpoint -d 'Endpoint URL or host, overriding the region\'s (plain http:// only to loopback)' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand wait" -s o -l output -d 'Output format [default: table]' -r -f -a "table\t'Human-readable'
json\t'The API\'s JSON, pretty-printed'"
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand wait" -l color -d 'When to colour the output (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand wait" -l connect-timeout -d 'Time allowed to open a connection' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand wait" -l read-timeout -d 'Time allowed for a whole response once connected' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand wait" -l retries -d 'Retries of a request after a network error, 5xx or throttling' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand wait" -l signature-version -d 'Request signature: v1 (HMAC-SHA1, default) or v3 (ACS3-HMAC-SHA256)' -r -f -a "v1\t'`HMAC-SHA1`, `SignatureVersion=1.0`'
v3\t'`ACS3-HMAC-SHA256`'"
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand wait" -s q -l quiet -d 'Print nothing but results and errors'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand wait" -s v -l verbose -d 'Trace each request and response on stderr (secrets redacted)'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand wait" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand wait" -s V -l version -d 'Print version'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand watch" -l resource-group-id -d 'Resource group the operations belong to' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand watch" -l timeout -d 'Give up after this long (exit 124) [default: 60m]' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand watch" -l interval -d 'First delay between polls of an operation [default: 2s]' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand watch" -l max-interval -d 'Longest delay between polls while nothing changes' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand watch" -l concurrency -d 'Most requests in flight at once' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand watch" -l profile -d 'Profile to use, from this tool\'s config file or the aliyun CLI\'s' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand watch" -l config -d 'Config file [default: <config dir>/bpstudio-op/config.toml]' -r -F
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand watch" -l region -d 'Region of the BPStudio endpoint: cn-hangzhou (default) or ap-southeast-1' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand watch" -l endpoint -d 'Endpoint URL or host, overriding the region\'s (plain http:// only to loopback)' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand watch" -s o -l output -d 'Output format [default: table]' -r -f -a "table\t'Human-readable'
json\t'The API\'s JSON, pretty-printed'"
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand watch" -l color -d 'When to colour the output (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand watch" -l connect-timeout -d 'Time allowed to open a connection' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand watch" -l read-timeout -d 'Time allowed for a whole response once connected' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand watch" -l retries -d 'Retries of a request after a network error, 5xx or throttling' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand watch" -l signature-version -d 'Request signature: v1 (HMAC-SHA1, default) or v3 (ACS3-HMAC-SHA256)' -r -f -a "v1\t'`HMAC-SHA1`, `SignatureVersion=1.0`'
v3\t'`ACS3-HMAC-SHA256`'"
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand watch" -s q -l quiet -d 'Print nothing but results and errors'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand watch" -s v -l verbose -d 'Trace each request and response on stderr (secrets redacted)'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand watch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand watch" -s V -l version -d 'Print version'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand configure" -l mode -d 'Credential mode of the profile [default: the profile\'s, else AK]' -r -f -a "AK\t''
StsToken\t''"
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand configure" -l access-key-id -d 'AccessKey id to store (prompted for on a terminal when absent)' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand configure" -l profile -d 'Profile to use, from this tool\'s config file or the aliyun CLI\'s' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand configure" -l config -d 'Config file [default: <config dir>/bpstudio-op/config.toml]' -r -F
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand configure" -l region -d 'Region of the BPStudio endpoint: cn-hangzhou (default) or ap-southeast-1' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand configure" -l endpoint -d 'Endpoint URL or host, overriding the region\'s (plain http:// only to loopback)' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand configure" -s o -l output -d 'Output format [default: table]' -r -f -a "table\t'Human-readable'
json\t'The API\'s JSON, pretty-printed'"
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand configure" -l color -d 'When to colour the output (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand configure" -l connect-timeout -d 'Time allowed to open a connection' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand configure" -l read-timeout -d 'Time allowed for a whole response once connected' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand configure" -l retries -d 'Retries of a request after a network error, 5xx or throttling' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand configure" -l signature-version -d 'Request signature: v1 (HMAC-SHA1, default) or v3 (ACS3-HMAC-SHA256)' -r -f -a "v1\t'`HMAC-SHA1`, `SignatureVersion=1.0`'
v3\t'`ACS3-HMAC-SHA256`'"
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand configure" -l secret-stdin -d 'Read the AccessKey secret from the first line of stdin (for StsToken, the security token from the second line) instead of prompting'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand configure" -s q -l quiet -d 'Print nothing but results and errors'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand configure" -s v -l verbose -d 'Trace each request and response on stderr (secrets redacted)'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand configure" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand configure" -s V -l version -d 'Print version'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand completions" -l profile -d 'Profile to use, from this tool\'s config file or the aliyun CLI\'s' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand completions" -l config -d 'Config file [default: <config dir>/bpstudio-op/config.toml]' -r -F
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand completions" -l region -d 'Region of the BPStudio endpoint: cn-hangzhou (default) or ap-southeast-1' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand completions" -l endpoint -d 'Endpoint URL or host, overriding the region\'s (plain http:// only to loopback)' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand completions" -s o -l output -d 'Output format [default: table]' -r -f -a "table\t'Human-readable'
json\t'The API\'s JSON, pretty-printed'"
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand completions" -l color -d 'When to colour the output (NO_COLOR is honoured)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand completions" -l connect-timeout -d 'Time allowed to open a connection' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand completions" -l read-timeout -d 'Time allowed for a whole response once connected' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand completions" -l retries -d 'Retries of a request after a network error, 5xx or throttling' -r
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand completions" -l signature-version -d 'Request signature: v1 (HMAC-SHA1, default) or v3 (ACS3-HMAC-SHA256)' -r -f -a "v1\t'`HMAC-SHA1`, `SignatureVersion=1.0`'
v3\t'`ACS3-HMAC-SHA256`'"
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand completions" -s q -l quiet -d 'Print nothing but results and errors'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand completions" -s v -l verbose -d 'Trace each request and response on stderr (secrets redacted)'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand completions" -s V -l version -d 'Print version'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand help; and not __fish_seen_subcommand_from get wait watch configure completions help" -f -a "get" -d 'Show the status of one or more operations, once'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand help; and not __fish_seen_subcommand_from get wait watch configure completions help" -f -a "wait" -d 'Wait until every operation succeeds or fails, then print the results'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand help; and not __fish_seen_subcommand_from get wait watch configure completions help" -f -a "watch" -d 'Like wait, with a live view of each operation on stderr'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand help; and not __fish_seen_subcommand_from get wait watch configure completions help" -f -a "configure" -d 'Create or update a profile in the config file'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand help; and not __fish_seen_subcommand_from get wait watch configure completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c bpstudio-op -n "__fish_bpstudio_op_using_subcommand help; and not __fish_seen_subcommand_from get wait watch configure completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
