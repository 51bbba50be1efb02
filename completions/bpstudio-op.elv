
use builtin;
use str;

set edit:completion:arg-completer[bpstudio-op] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'bpstudio-op'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'bpstudio-op'= {
            cand --profile 'Profile to use, from this tool''s config file or the aliyun CLI''s'
            cand --config 'Config file [default: <config dir>/bpstudio-op/config.toml]'
            cand --region 'Region of the BPStudio endpoint: cn-hangzhou (default) or ap-southeast-1'
            cand --endpoint 'Endpoint URL or host, overriding the region''s (plain http:// only to loopback)'
            cand -o 'Output format [default: table]'
            cand --output 'Output format [default: table]'
            cand --color 'When to colour the output (NO_COLOR is honoured)'
            cand --connect-timeout 'Time allowed to open a connection'
            cand --read-timeout 'Time allowed for a whole response once connected'
            cand --retries 'Retries of a request after a network error, 5xx or throttling'
            cand --signature-version 'Request signature: v1 (HMAC-SHA1, default) or v3 (ACS3-HMAC-SHA256)'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Trace each request and response on stderr (secrets redacted)'
            cand --verbose 'Trace each request and response on stderr (secrets redacted)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand get 'Show the status of one or more operations, once'
            cand wait 'Wait until every operation succeeds or fails, then print the results'
            cand watch 'Like wait, with a live view of each operation on stderr'
            cand configure 'Create or update a profile in the config file'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bpstudio-op;get'= {
            cand --resource-group-id 'Resource group the operations belong to'
            cand --profile 'Profile to use, from this tool''s config file or the aliyun CLI''s'
            cand --config 'Config file [default: <config dir>/bpstudio-op/config.toml]'
            cand --region 'Region of the BPStudio endpoint: cn-hangzhou (default) or ap-southeast-1'
            cand --endpoint 'Endpoint URL or host, overriding the region''s (plain http:// only to loopback)'
            cand -o 'Output format [default: table]'
            cand --output 'Output format [default: table]'
            cand --color 'When to colour the output (NO_COLOR is honoured)'
            cand --connect-timeout 'Time allowed to open a connection'
            cand --read-timeout 'Time allowed for a whole response once connected'
            cand --retries 'Retries of a request after a network error, 5xx or throttling'
            cand --signature-version 'Request signature: v1 (HMAC-SHA1, default) or v3 (ACS3-HMAC-SHA256)'
            cand --exit-status 'Exit 1 for FAILURE and 8 for INIT/RUNNING, not only 0'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Trace each request and response on stderr (secrets redacted)'
            cand --verbose 'Trace each request and response on stderr (secrets redacted)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bpstudio-op;wait'= {
            cand --resource-group-id 'Resource group the operations belong to'
            cand --timeout 'Give up after this long (exit 124) [default: 60m]'
            cand --interval 'First delay between polls of an operation [default: 2s]'
            cand --max-interval 'Longest delay between polls while nothing changes'
            cand --concurrency 'Most requests in flight at once'
            cand --profile 'Profile to use, from this tool''s config file or the aliyun CLI''s'
            cand --config 'Config file [default: <config dir>/bpstudio-op/config.toml]'
            cand --region 'Region of the BPStudio endpoint: cn-hangzhou (default) or ap-southeast-1'
            cand --endpoint 'Endpoint URL or host, overriding the region''s (plain http:// only to loopback)'
            cand -o 'Output format [default: table]'
            cand --output 'Output format [default: table]'
            cand --color 'When to colour the output (NO_COLOR is honoured)'
            cand --connect-timeout 'Time allowed to open a connection'
            cand --read-timeout 'Time allowed for a whole response once connected'
            cand --retries 'Retries of a request after a network error, 5xx or throttling'
            cand --signature-version 'Request signature: v1 (HMAC-SHA1, default) or v3 (ACS3-HMAC-SHA256)'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Trace each request and response on stderr (secrets redacted)'
            cand --verbose 'Trace each request and response on stderr (secrets redacted)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bpstudio-op;watch'= {
            cand --resource-group-id 'Resource group the operations belong to'
            cand --timeout 'Give up after this long (exit 124) [default: 60m]'
            cand --interval 'First delay between polls of an operation [default: 2s]'
            cand --max-interval 'Longest delay between polls while nothing changes'
            cand --concurrency 'Most requests in flight at once'
            cand --profile 'Profile to use, from this tool''s config file or the aliyun CLI''s'
            cand --config 'Config file [default: <config dir>/bpstudio-op/config.toml]'
            cand --region 'Region of the BPStudio endpoint: cn-hangzhou (default) or ap-southeast-1'
            cand --endpoint 'Endpoint URL or host, overriding the region''s (plain http:// only to loopback)'
            cand -o 'Output format [default: table]'
            cand --output 'Output format [default: table]'
            cand --color 'When to colour the output (NO_COLOR is honoured)'
            cand --connect-timeout 'Time allowed to open a connection'
            cand --read-timeout 'Time allowed for a whole response once connected'
            cand --retries 'Retries of a request after a network error, 5xx or throttling'
            cand --signature-version 'Request signature: v1 (HMAC-SHA1, default) or v3 (ACS3-HMAC-SHA256)'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Trace each request and response on stderr (secrets redacted)'
            cand --verbose 'Trace each request and response on stderr (secrets redacted)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bpstudio-op;configure'= {
            cand --mode 'Credential mode of the profile [default: the profile''s, else AK]'
            cand --access-key-id 'AccessKey id to store (prompted for on a terminal when absent)'
            cand --profile 'Profile to use, from this tool''s config file or the aliyun CLI''s'
            cand --config 'Config file [default: <config dir>/bpstudio-op/config.toml]'
            cand --region 'Region of the BPStudio endpoint: cn-hangzhou (default) or ap-southeast-1'
            cand --endpoint 'Endpoint URL or host, overriding the region''s (plain http:// only to loopback)'
            cand -o 'Output format [default: table]'
            cand --output 'Output format [default: table]'
            cand --color 'When to colour the output (NO_COLOR is honoured)'
            cand --connect-timeout 'Time allowed to open a connection'
            cand --read-timeout 'Time allowed for a whole response once connected'
            cand --retries 'Retries of a request after a network error, 5xx or throttling'
            cand --signature-version 'Request signature: v1 (HMAC-SHA1, default) or v3 (ACS3-HMAC-SHA256)'
            cand --secret-stdin 'Read the AccessKey secret from the first line of stdin (for StsToken, the security token from the second line) instead of prompting'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Trace each request and response on stderr (secrets redacted)'
            cand --verbose 'Trace each request and response on stderr (secrets redacted)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bpstudio-op;completions'= {
            cand --profile 'Profile to use, from this tool''s config file or the aliyun CLI''s'
            cand --config 'Config file [default: <config dir>/bpstudio-op/config.toml]'
            cand --region 'Region of the BPStudio endpoint: cn-hangzhou (default) or ap-southeast-1'
            cand --endpoint 'Endpoint URL or host, overriding the region''s (plain http:// only to loopback)'
            cand -o 'Output format [default: table]'
            cand --output 'Output format [default: table]'
            cand --color 'When to colour the output (NO_COLOR is honoured)'
            cand --connect-timeout 'Time allowed to open a connection'
            cand --read-timeout 'Time allowed for a whole response once connected'
            cand --retries 'Retries of a request after a network error, 5xx or throttling'
            cand --signature-version 'Request signature: v1 (HMAC-SHA1, default) or v3 (ACS3-HMAC-SHA256)'
            cand -q 'Print nothing but results and errors'
            cand --quiet 'Print nothing but results and errors'
            cand -v 'Trace each request and response on stderr (secrets redacted)'
            cand --verbose 'Trace each request and response on stderr (secrets redacted)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bpstudio-op;help'= {
            cand get 'Show the status of one or more operations, once'
            cand wait 'Wait until every operation succeeds or fails, then print the results'
            cand watch 'Like wait, with a live view of each operation on stderr'
            cand configure 'Create or update a profile in the config file'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bpstudio-op;help;get'= {
        }
        &'bpstudio-op;help;wait'= {
        }
        &'bpstudio-op;help;watch'= {
        }
        &'bpstudio-op;help;configure'= {
        }
        &'bpstudio-op;help;completions'= {
        }
        &'bpstudio-op;help;help'= {
        }
    ]
    $completions[$command]
}
