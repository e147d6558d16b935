// CloudFront Function (cloudfront-js-2.0, viewer response).
// Variants whose format Accept decided (ops "f=auto-…") must carry "Vary: Accept" whichever
// origin answered: the Lambda sets it, but the derived bucket (S3) cannot store a Vary
// header on an object, so the edge adds it here. Explicit formats never vary.
function handler(event) {
  var response = event.response;
  var uri = event.request.uri;
  var slash = uri.lastIndexOf('/');
  var ops = uri.substring(slash + 1);
  // 304s too: a revalidated cached copy must keep varying on Accept.
  var cacheable = response.statusCode === 200 || response.statusCode === 304;
  if (cacheable && ops.indexOf('f=auto-') !== -1) {
    response.headers['vary'] = { value: 'Accept' };
  }
  return response;
}
