_vinano() {
    local IFS=$' \t\n'
    local args cur prev cmd opts arg
    args=("${COMP_WORDS[@]}")
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    opts="-h --help --version"

    args=("${args[@]:1}")
    for arg in "${args[@]}"; do
        case "$arg" in
            generate)
                cmd="generate"
                opts="$opts -h --help --model --aspect-ratio --mode --hd --size --search --image --image-url -o --output --async --token-file --timeout --connect-timeout --stall-timeout --max-retries --json"
                break
                ;;
            batch)
                cmd="batch"
                opts="$opts -h --help --out --journal --concurrency --plan --rate-limit --rate-window --budget --retry-uncertain --dry-run --token-file --timeout --connect-timeout --stall-timeout --max-retries --json"
                break
                ;;
            status)
                cmd="status"
                opts="$opts -h --help --token-file --timeout --connect-timeout --stall-timeout --max-retries --json"
                break
                ;;
            wait)
                cmd="wait"
                opts="$opts -h --help -o --output --interval --max-wait --token-file --timeout --connect-timeout --stall-timeout --max-retries --json"
                break
                ;;
            estimate)
                cmd="estimate"
                opts="$opts -h --help --model --aspect-ratio --mode --hd --size --search --image --image-url --json"
                break
                ;;
            models)
                cmd="models"
                opts="$opts -h --help --json"
                break
                ;;
            completion)
                cmd="completion"
                opts="$opts -h --help"
                break
                ;;
            mock)
                cmd="mock"
                opts="$opts -h --help"
                break
                ;;
        esac
    done

    case "$cmd" in
        '')
            COMPREPLY=($(compgen -W "generate batch status wait estimate models completion mock" -- "$cur"))
            ;;
        'generate')
            case "$prev" in
                --model)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --aspect-ratio)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --mode)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --size)
                    COMPREPLY=($(compgen -W "1k 2k 4k" -- "$cur"))
                    return 0
                    ;;
                --image)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --image-url)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                -o|--output)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --token-file)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --timeout)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --connect-timeout)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --stall-timeout)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --max-retries)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
            esac

            ;;
        'batch')
            case "$prev" in
                --out)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --journal)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --concurrency)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --plan)
                    COMPREPLY=($(compgen -W "monthly yearly" -- "$cur"))
                    return 0
                    ;;
                --rate-limit)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --rate-window)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --budget)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --token-file)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --timeout)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --connect-timeout)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --stall-timeout)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --max-retries)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
            esac

            ;;
        'status')
            case "$prev" in
                --token-file)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --timeout)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --connect-timeout)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --stall-timeout)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --max-retries)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
            esac

            ;;
        'wait')
            case "$prev" in
                -o|--output)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --interval)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --max-wait)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --token-file)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --timeout)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --connect-timeout)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --stall-timeout)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --max-retries)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
            esac

            ;;
        'estimate')
            case "$prev" in
                --model)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --aspect-ratio)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --mode)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --size)
                    COMPREPLY=($(compgen -W "1k 2k 4k" -- "$cur"))
                    return 0
                    ;;
                --image)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
                --image-url)
                    COMPREPLY=($(compgen -f -- "$cur"))
                    return 0
                    ;;
            esac

            ;;
    esac

    if [[ "$cur" = -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    fi
}

complete -F _vinano -o bashdefault -o default vinano
