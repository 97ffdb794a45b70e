package provider

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/llm"
)

// KindBedrock is Amazon Bedrock: Anthropic models through InvokeModel with
// the Messages body, other models through Converse. See [Bedrock].
const KindBedrock = "bedrock"

// BedrockConfig configures a [Bedrock] provider. Zero fields take the
// defaults in their comments.
type BedrockConfig struct {
	Name string // the configured name; required
	// Region is the AWS region, e.g. us-east-1 or us-gov-west-1. Empty
	// means the region of the default AWS configuration (AWS_REGION,
	// ~/.aws/config); one of them must give it, since requests are signed
	// for it.
	Region string
	// BaseURL overrides the endpoint, e.g. a VPC interface endpoint
	// (https://vpce-….bedrock-runtime.us-east-1.vpce.amazonaws.com) or a
	// FIPS one. Empty means https://bedrock-runtime.{region}.amazonaws.com
	// (.amazonaws.com.cn in the China regions).
	BaseURL string
	// AccessKeyID, SecretAccessKey and SessionToken are static credentials.
	// Empty means the default credentials chain: environment, shared
	// files, SSO, web identity, ECS and EC2 roles.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// Credentials, if set, supplies credentials instead (tests).
	Credentials aws.CredentialsProvider
	Headers     map[string]string // extra static headers, signed with the rest
	// Timeout and StreamIdleTimeout are as in [HTTPConfig].
	Timeout           time.Duration
	StreamIdleTimeout time.Duration
	Client            *http.Client // nil: the shared client
	// Now is the signing clock; nil means time.Now.
	Now func() time.Time
}

// Bedrock is a provider for Amazon Bedrock's runtime API, with requests
// signed by AWS Signature Version 4 for the service "bedrock".
//
// A model whose id names an Anthropic model (anthropic.claude-…, a
// cross-region inference profile such as us.anthropic.claude-…, or an ARN
// holding one) is called through InvokeModel and
// InvokeModelWithResponseStream with the Anthropic Messages body: the
// client's own bytes when it spoke Anthropic, without "model" and
// "stream", with "anthropic_version": "bedrock-2023-05-31", and with the
// client's anthropic-beta header moved into "anthropic_beta". Its answers
// are Anthropic answers, so an Anthropic client gets them as sent. Every
// other model is called through Converse and ConverseStream, translated
// to and from the canonical model: text, images given as data, tools,
// tool calls and results, the system prompt, stop sequences and usage.
//
// It is safe for concurrent use.
type Bedrock struct {
	name     string
	endpoint string // scheme://host[/path], no trailing slash
	region   string
	creds    aws.CredentialsProvider
	signer   *v4.Signer
	header   http.Header
	now      func() time.Time
	x        exchange
}

var _ Provider = (*Bedrock)(nil)

// NewBedrock returns a Bedrock provider for cfg. Without static keys it
// loads the default AWS configuration (no network access: credentials are
// fetched on first use and cached).
func NewBedrock(ctx context.Context, cfg BedrockConfig) (*Bedrock, error) {
	if cfg.Name == "" {
		return nil, errors.New("couldn't configure provider: name is empty")
	}
	b := &Bedrock{name: cfg.Name, region: cfg.Region, creds: cfg.Credentials, now: cfg.Now, header: make(http.Header)}
	if (cfg.AccessKeyID == "") != (cfg.SecretAccessKey == "") {
		return nil, fmt.Errorf("couldn't configure provider %s: give both the access key id and the secret access key, or neither", cfg.Name)
	}
	if b.creds == nil && cfg.AccessKeyID != "" {
		static := aws.Credentials{AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey, SessionToken: cfg.SessionToken, Source: "brightline config"}
		b.creds = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return static, nil })
	}
	if b.creds == nil || b.region == "" {
		var opts []func(*awsconfig.LoadOptions) error
		if b.region != "" {
			opts = append(opts, awsconfig.WithRegion(b.region))
		}
		ac, err := awsconfig.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("couldn't configure provider %s: couldn't load the AWS configuration: %w", cfg.Name, err)
		}
		if b.region == "" {
			b.region = ac.Region
		}
		if b.creds == nil {
			b.creds = ac.Credentials
		}
	}
	if b.region == "" {
		return nil, fmt.Errorf("couldn't configure provider %s: no AWS region: set region, or AWS_REGION", cfg.Name)
	}
	if b.creds == nil {
		return nil, fmt.Errorf("couldn't configure provider %s: no AWS credentials found", cfg.Name)
	}
	if _, ok := b.creds.(*aws.CredentialsCache); !ok {
		b.creds = aws.NewCredentialsCache(b.creds)
	}
	b.endpoint = BedrockEndpoint(b.region)
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("couldn't configure provider %s: base URL must be an absolute http(s) URL", cfg.Name)
		}
		b.endpoint = strings.TrimRight(cfg.BaseURL, "/")
	}
	b.header.Set("Content-Type", "application/json")
	b.header.Set("User-Agent", "brightline")
	for k, v := range cfg.Headers {
		b.header.Set(k, v)
	}
	if b.now == nil {
		b.now = time.Now
	}
	b.signer = v4.NewSigner()
	b.x = newExchange(cfg.Name, cfg.Timeout, cfg.StreamIdleTimeout, cfg.Client)
	return b, nil
}

// BedrockEndpoint returns the public Bedrock runtime endpoint of region:
// https://bedrock-runtime.{region}.amazonaws.com, which holds for the
// GovCloud regions too (bedrock-runtime.us-gov-west-1.amazonaws.com), and
// .amazonaws.com.cn in China.
func BedrockEndpoint(region string) string {
	suffix := "amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		suffix = "amazonaws.com.cn"
	}
	return "https://bedrock-runtime." + region + "." + suffix
}

// Name returns the configured name.
func (b *Bedrock) Name() string { return b.name }

// Dialect returns the Anthropic dialect: what Bedrock's Anthropic models
// speak. Converse answers carry no dialect (Response.Dialect is empty),
// so the gateway always encodes them for the client.
func (b *Bedrock) Dialect() brightline.Dialect { return brightline.DialectAnthropic }

// IsBedrockAnthropic reports whether a Bedrock model id names an Anthropic
// model, which Bedrock serves through InvokeModel with the Messages body:
// anthropic.…, a cross-region inference profile ({geo}.anthropic.…), or an
// ARN of either. Other ids, application inference profiles among them, go
// through Converse, which serves Anthropic models too.
func IsBedrockAnthropic(model string) bool {
	m := model
	if strings.HasPrefix(m, "arn:") {
		if i := strings.LastIndexByte(m, '/'); i >= 0 {
			m = m[i+1:]
		}
	}
	if strings.HasPrefix(m, "anthropic.") {
		return true
	}
	_, rest, ok := strings.Cut(m, ".")
	return ok && strings.HasPrefix(rest, "anthropic.")
}

// Complete sends a non-streamed request: InvokeModel for Anthropic models,
// Converse for the others.
func (b *Bedrock) Complete(ctx context.Context, call *Call) (*llm.Response, error) {
	req := call.Request
	if IsBedrockAnthropic(req.Model) {
		body, err := b.anthropicBody(call, false)
		if err != nil {
			return nil, err
		}
		return b.x.complete(ctx, b.build(req.Model, "invoke", body, false), b.statusError, decodeAnthropic)
	}
	body, err := encodeConverse(b.name, req)
	if err != nil {
		return nil, err
	}
	return b.x.complete(ctx, b.build(req.Model, "converse", body, false), b.statusError,
		func(data []byte, hdr http.Header) (*llm.Response, error) {
			return decodeConverse(data, req.Model, hdr.Get("X-Amzn-Requestid"))
		})
}

// Stream sends a streamed request: InvokeModelWithResponseStream for
// Anthropic models, ConverseStream for the others. Both answer in AWS
// event-stream framing.
func (b *Bedrock) Stream(ctx context.Context, call *Call) (llm.Stream, error) {
	req := call.Request
	if IsBedrockAnthropic(req.Model) {
		body, err := b.anthropicBody(call, true)
		if err != nil {
			return nil, err
		}
		return b.x.stream(ctx, b.build(req.Model, "invoke-with-response-stream", body, true), b.statusError,
			func(r io.Reader, _ http.Header) eventReader { return newBedrockAnthropicReader(r) })
	}
	body, err := encodeConverse(b.name, req)
	if err != nil {
		return nil, err
	}
	return b.x.stream(ctx, b.build(req.Model, "converse-stream", body, true), b.statusError,
		func(r io.Reader, h http.Header) eventReader {
			return newConverseStreamReader(r, req.Model, h.Get("X-Amzn-Requestid"))
		})
}

// bedrockAnthropicVersion is the anthropic_version Bedrock requires.
const bedrockAnthropicVersion = "bedrock-2023-05-31"

func (b *Bedrock) anthropicBody(call *Call, stream bool) ([]byte, error) {
	var extra []member
	if call.Request.Dialect == brightline.DialectAnthropic && call.Header != nil {
		var betas []string
		for _, v := range call.Header.Values("Anthropic-Beta") {
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					betas = append(betas, s)
				}
			}
		}
		if len(betas) > 0 {
			extra = append(extra, member{"anthropic_beta", mustJSON(betas)})
		}
	}
	body, err := anthropicCloudBody(call.Request, bedrockAnthropicVersion, stream, false, extra...)
	if err != nil {
		return nil, fmt.Errorf("couldn't encode the request for provider %s: %w", b.name, err)
	}
	return body, nil
}

// build returns the request maker for operation op ("invoke", "converse",
// ...) on model: POST {endpoint}/model/{model}/{op}, the model id escaped
// as one path segment, signed with SigV4 at send time.
func (b *Bedrock) build(model, op string, body []byte, stream bool) newRequest {
	return func(ctx context.Context) (*http.Request, error) {
		u, err := url.Parse(b.endpoint + "/model/" + url.PathEscape(model) + "/" + op)
		if err != nil {
			return nil, fmt.Errorf("couldn't build the request URL for provider %s: %w", b.name, err)
		}
		// PathEscape leaves ':' alone, but the AWS SDKs send it escaped
		// (anthropic.claude-…-v2%3A0), and the path is part of the
		// signature: send exactly what the SDKs send.
		u.RawPath = strings.ReplaceAll(u.EscapedPath(), ":", "%3A")
		req, err := newPost(ctx, u.String(), body, b.header, 4)
		if err != nil {
			return nil, err
		}
		hdr := req.Header
		if stream {
			hdr.Set("Accept", "application/vnd.amazon.eventstream")
		} else {
			hdr.Set("Accept", "application/json")
		}
		// The receipt is set before signing, so that the signature is
		// computed over the headers exactly as they are sent.
		if err := receipt(ctx, b.name, model, body, hdr); err != nil {
			return nil, err
		}
		creds, err := b.creds.Retrieve(ctx)
		if err != nil {
			return nil, fmt.Errorf("couldn't get AWS credentials for provider %s: %w", b.name, err)
		}
		sum := sha256.Sum256(body)
		if err := b.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "bedrock", b.region, b.now()); err != nil {
			return nil, fmt.Errorf("couldn't sign the request for provider %s: %w", b.name, err)
		}
		return req, nil
	}
}

// statusError decodes a Bedrock error answer: the type from the
// x-amzn-ErrorType header (ThrottlingException, ValidationException, ...)
// or the body's __type, the message from the body.
func (b *Bedrock) statusError(resp *http.Response) error {
	data, _ := readCapped(resp.Body, resp.ContentLength, maxErrorBody)
	return errorWith(resp, decodeBedrockError(resp.Header, data))
}

func decodeBedrockError(h http.Header, body []byte) *llm.WireError {
	var w struct {
		Message  string `json:"message"`
		Message2 string `json:"Message"`
		Type     string `json:"__type"`
	}
	we := &llm.WireError{}
	if json.Unmarshal(body, &w) == nil {
		we.Message = cmp(w.Message, w.Message2)
		we.Type = w.Type
	} else {
		we.Message = string(bytes.TrimSpace(body[:min(len(body), 512)]))
	}
	if t := h.Get("X-Amzn-Errortype"); t != "" {
		we.Type = t
	}
	// "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"
	// and "com.amazon.coral.service#ThrottlingException" both name the type.
	if i := strings.IndexByte(we.Type, ':'); i >= 0 {
		we.Type = we.Type[:i]
	}
	if i := strings.LastIndexByte(we.Type, '#'); i >= 0 {
		we.Type = we.Type[i+1:]
	}
	return we
}
