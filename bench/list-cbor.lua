-- The same request over Smithy RPC v2 CBOR: {"MaxResults": 10, "Filter": {"JobStatus": "COMPLETED"}}.
wrk.method = "POST"
wrk.path = "/service/ComprehendMedical_20181030/operation/ListSNOMEDCTInferenceJobs"
wrk.headers["Content-Type"] = "application/cbor"
wrk.headers["Accept"] = "application/cbor"
wrk.headers["smithy-protocol"] = "rpc-v2-cbor"
wrk.body = "\xa2\x6aMaxResults\x0a\x66Filter\xa1\x69JobStatus\x69COMPLETED"
