---@meta vinano.types
-- LuaCATS type definitions for lua-language-server (no code: `require`
-- returns nothing useful).  The public shapes of vinano: client options,
-- generate parameters with their allowed values per the API page
-- (docs/api-notes.md), results, `info`, errors and their kinds, tasks, batch
-- jobs and events.  `.luarc.json` at the root of the repository points the
-- language server at lua/.

---Models the API page names.  Unknown names are passed through unchecked.
---@alias vinano.Model
---| "gemini-2.5-flash-image-preview" # Nano Banana (the default): 10 credits, 30 with hdPro
---| "gemini-3.1-pro-image-preview" # Nano Banana 2: also 4:1 1:4 8:1 1:8, img_size 1k 2k 4k, googleSearch
---| "gemini-3-pro-image-preview" # Nano Banana Pro: img_size 1k 2k 4k
---| "sora_image" # GPT-Image 2
---| "Seedance-5.0" # Seedance 5.0 (the page is ambiguous about it: not checked)
---| "Z-Image" # ViNano Basic: text-to-image only (no image, no imageUrl)
---| string

---Aspect ratios; the last four only on gemini-3.1-pro-image-preview.
---@alias vinano.AspectRatio
---| "auto" | "1:1" | "16:9" | "9:16" | "4:3" | "3:4" | "3:2" | "2:3"
---| "4:1" | "1:4" | "8:1" | "1:8"

---Output size, only on gemini-3.1-pro-image-preview and gemini-3-pro-image-preview.
---@alias vinano.ImgSize "1k" | "2k" | "4k"

---Free-form on the page; the known ones.
---@alias vinano.Mode "txt2img" | "photo_restoration" | "figure" | "meme" | string

---An image to upload: a file path, or a table naming a file or holding the bytes.
---@class vinano.ImageFile
---@field path string? a file on disk, streamed by libcurl (exactly one of path and data)
---@field data string? the bytes themselves
---@field filename string? the file name sent (default: the path's base name)
---@field content_type string? the part's content type (default: libcurl's guess from the extension)

---@alias vinano.Image string | vinano.ImageFile

---The parameters of `client:generate` and `client:submit_async`.  At least
---one of prompt, image and imageUrl.
---@class vinano.GenerateParams
---@field prompt string? at most 2000 characters (UTF-8 characters, not bytes)
---@field image (vinano.Image | vinano.Image[])? one file or several, each at most 100 MB
---@field imageUrl (string | string[])? one URL or several
---@field model vinano.Model? default "gemini-2.5-flash-image-preview"
---@field aspectRatio vinano.AspectRatio?
---@field mode vinano.Mode?
---@field hdPro boolean? 30 credits instead of 10
---@field img_size vinano.ImgSize? only gemini-3.1-pro-image-preview and gemini-3-pro-image-preview
---@field googleSearch boolean? only gemini-3.1-pro-image-preview; default false

---The options of `vinano.new`.
---@class vinano.Options
---@field token string? default os.getenv("VINANO_API_TOKEN"); a missing token fails the first call
---@field base_url string? default os.getenv("VINANO_BASE_URL") or "https://vinano.ai"
---@field timeout number? seconds for one whole call, retries and waits included (default 180)
---@field connect_timeout number? seconds (default 10)
---@field stall_timeout number? poll/download: no byte for this long is a timeout (default 30)
---@field ca_file string? a CA bundle to trust besides the system's
---@field proxy string? a proxy URL
---@field user_agent string? default "vinano/VERSION (Lua; _VERSION)"
---@field validate boolean? check parameters before sending (default true)
---@field max_retries integer? retries per call (default 2)
---@field retry_unsafe boolean? also retry a POST that may have reached the server (default false)
---@field on_retry fun(attempt: integer, err: vinano.Error, delay: number)? called before each retry
---@field plan "monthly"|"yearly"? the client-side rate limit: 20 or 200 requests a minute
---@field rate_limit integer? requests per rate_window, instead of plan
---@field rate_window number? seconds (default 60)
---@field max_credits number? refuse requests whose estimate is higher
---@field max_response integer? bytes of a response body (default 64 MB)
---@field on_request fun(info: vinano.RequestInfo)? logging hook, before each attempt (never sees the token)
---@field on_response fun(info: vinano.ResponseInfo)? logging hook, after each attempt
---@field sleep fun(seconds: number)? the sleep `wait` uses between polls outside a task
---@field insecure boolean? turn TLS verification off (default false)
---@field allow_http boolean? allow plain http to hosts other than loopback (default false)
---@field verbose boolean? libcurl's trace on stderr, Authorization redacted (default false)

---Per-call options of generate, submit_async, poll and download.
---@class vinano.CallOptions
---@field timeout number? seconds for this call
---@field max_retries integer?
---@field retry_unsafe boolean?
---@field on_retry fun(attempt: integer, err: vinano.Error, delay: number)?
---@field max_credits number?
---@field on_progress fun(sent: integer, total_up: integer, received: integer, total_down: integer)? at most every 0.1 s

---Options of `client:wait`.
---@class vinano.WaitOptions
---@field interval number? seconds between polls (default 3)
---@field timeout number? seconds until a `timeout` error (default 300)
---@field on_poll fun(status: vinano.TaskStatus)? each poll's answer
---@field sleep fun(seconds: number)? replaces the sleep between polls

---Options of `client:generate_many`.
---@class vinano.ManyOptions
---@field concurrency integer? requests in flight at most (default 8)

---@class vinano.RateLimit
---@field limit number? X-RateLimit-Limit
---@field remaining number? X-RateLimit-Remaining
---@field reset number? X-RateLimit-Reset (a Unix time above 10^9, otherwise seconds)

---@class vinano.ImageDetail
---@field width integer
---@field height integer
---@field filesize integer

---A generate result: the server's JSON (null is `vinano.null`) plus what the
---client adds.
---@class vinano.Result
---@field status integer
---@field images string[] image URLs
---@field imageDetails vinano.ImageDetail[]
---@field uuid string
---@field prompt string?
---@field model string?
---@field credits { cost: number }
---@field attempts integer attempts made
---@field elapsed number seconds, retries included
---@field rate_limit vinano.RateLimit? the last snapshot the server sent

---What `client:submit_async` returns.
---@class vinano.Task
---@field status integer 202
---@field task_id string
---@field message string?
---@field model string?
---@field credits { cost: number }?
---@field attempts integer
---@field elapsed number
---@field rate_limit vinano.RateLimit?

---What `client:poll` returns (and `client:wait` once done): the server's
---answer plus `state`.
---@class vinano.TaskStatus: vinano.Result
---@field state "pending"|"done"|"failed"
---@field task_id string?

---`client:last_response()`: the last response of an API call.
---@class vinano.Info
---@field status integer HTTP status
---@field headers table<string, string> lower-case names
---@field rate_limit vinano.RateLimit
---@field new_connections integer? 0 on a reused connection
---@field http_version "1.1"|"2"|"3"?
---@field local_port integer?
---@field seconds number? time of the transfer

---@class vinano.RequestInfo
---@field op "generate"|"submit"|"poll"|"download"
---@field method "GET"|"POST"
---@field attempt integer
---@field url string

---@class vinano.ResponseInfo
---@field op "generate"|"submit"|"poll"|"download"
---@field attempt integer
---@field status integer?
---@field elapsed number
---@field rate_limit vinano.RateLimit?
---@field error vinano.Error?

---Every kind of error (`err.kind`).
---@alias vinano.ErrorKind
---| "invalid_request" # client-side validation, a missing/unreadable/oversized file, or no token: nothing was sent
---| "bad_request" # HTTP 400 (and other 4xx of the API calls)
---| "unauthorized" # HTTP 401
---| "forbidden" # HTTP 403
---| "payload_too_large" # HTTP 413
---| "rate_limited" # HTTP 429, with retry_after
---| "insufficient_credits" # HTTP 495
---| "server" # HTTP 5xx, or a redirect on an API call
---| "network" # connection refused, reset, dropped; curl_code
---| "timeout" # timeout / connect_timeout passed, or wait's deadline
---| "decode" # a 2xx body that is not the JSON needed, or over max_response
---| "task_failed" # wait saw the task fail (err.task)
---| "cancelled" # cancelled, or its client closed or collected
---| "callback" # a user callback (on_progress) raised
---| "io" # download could not write its file

---An operational failure (`nil, err`); `tostring(err)` reads well in a log.
---@class vinano.Error
---@field kind vinano.ErrorKind
---@field message string
---@field status integer? the HTTP status
---@field retry_after number? seconds
---@field field string? invalid_request: the parameter
---@field rule string? invalid_request: the rule ("required", "max_length", "allowed_values", "model", "type", ...)
---@field curl_code integer? network: libcurl's code
---@field request_sent boolean? whether any byte of the request was sent
---@field task_id string? task_failed, timeout of wait
---@field task vinano.TaskStatus? task_failed: the poll answer
---@field attempts integer?
---@field elapsed number?
---@field rate_limit vinano.RateLimit?

---A coroutine task of `vinano.async` (spawn, run in a host, the _cb methods).
---@class vinano.AsyncTask
---@field done boolean
---@field results table? packed results once done
---@field error any the error it raised, once done

---A job of `vinano.batch`: one entry of a batch, as the batch module reports it.
---@class vinano.BatchJob
---@field index integer position in the input list
---@field params vinano.GenerateParams
---@field state "queued"|"running"|"done"|"failed"|"cancelled"
---@field result vinano.Result?
---@field error vinano.Error?
---@field path string? where the image was saved, if the batch saves them

---An event a batch emits to its callback.
---@class vinano.BatchEvent
---@field type "start"|"done"|"failed"|"retry"|"progress"|"finish"
---@field job vinano.BatchJob?
---@field done integer jobs finished so far
---@field total integer jobs in the batch
