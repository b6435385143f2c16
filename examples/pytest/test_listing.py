"""Tests as a project using snomed-vcr writes them: the code under test lists jobs with boto3, and the
answers come from a cassette recorded once against AWS (here, cassettes/boto3-walk.json)."""


def all_jobs(client, page_size):
    """The code under test: every job, following NextToken."""
    jobs, token = [], None
    while True:
        kwargs = {"MaxResults": page_size}
        if token:
            kwargs["NextToken"] = token
        page = client.list_snomedct_inference_jobs(**kwargs)
        jobs.extend(page["ComprehendMedicalAsyncJobPropertiesList"])
        token = page.get("NextToken")
        if not token:
            return jobs


def test_every_job_is_listed_once(comprehend_medical):
    jobs = all_jobs(comprehend_medical, 37)
    ids = [j["JobId"] for j in jobs]
    assert len(ids) == 240
    assert len(set(ids)) == len(ids)


def test_newest_first(comprehend_medical):
    jobs = all_jobs(comprehend_medical, 37)
    times = [j["SubmitTime"] for j in jobs]
    assert times == sorted(times, reverse=True)
