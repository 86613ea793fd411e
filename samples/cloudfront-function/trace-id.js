// CloudFront Function (cloudfront-js-2.0), event type: viewer-request.
//
// Copies the CloudFront request id into the X-Amzn-Trace-Id header as a
// custom field, `CfId=<request id>`. The ALB keeps custom trace fields and
// writes the header to its access log's trace_id field, so
// `stickyaudit scan` can join CloudFront and ALB records exactly instead of
// by time and evidence. A Root field is created here because the ALB only
// keeps an incoming trace header that has one.
//
// Attach it to every cache behavior whose origin is the ALB. The function
// does not change caching: X-Amzn-Trace-Id is not part of any cache key
// unless a cache policy names it.
function handler(event) {
    var request = event.request;
    var id = event.context.requestId;
    var header = request.headers['x-amzn-trace-id'];
    var value;
    if (header && header.value && header.value.indexOf('Root=') !== -1) {
        value = header.value + ';CfId=' + id;
    } else {
        var epoch = Math.floor(Date.now() / 1000).toString(16);
        var random = '';
        for (var i = 0; i < 24; i++) {
            random += Math.floor(Math.random() * 16).toString(16);
        }
        value = 'Root=1-' + epoch + '-' + random + ';CfId=' + id;
    }
    request.headers['x-amzn-trace-id'] = { value: value };
    return request;
}
