-- ListSNOMEDCTInferenceJobs over AWS JSON 1.1, one page of 10 jobs (about 5 KB of response).
wrk.method = "POST"
wrk.path = "/"
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "ComprehendMedical_20181030.ListSNOMEDCTInferenceJobs"
wrk.body = '{"MaxResults": 10, "Filter": {"JobStatus": "COMPLETED"}}'
