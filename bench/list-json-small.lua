-- The replay benchmark's request: {"MaxResults": 4} over JSON 1.1, answered with 4 jobs (about 2.4 KB).
wrk.method = "POST"
wrk.path = "/"
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "ComprehendMedical_20181030.ListSNOMEDCTInferenceJobs"
wrk.body = '{"MaxResults": 4}'
