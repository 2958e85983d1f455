"""factory_boy factories for every model the tests need."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from core.models import User

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    """A verified-looking user with a known password."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    display_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(self, create: bool, extracted: object, **kwargs: object) -> None:
        """Give the user a verified primary email address, as allauth expects."""
        if not create:
            return
        from allauth.account.models import EmailAddress

        self.save()
        EmailAddress.objects.get_or_create(
            user=self, email=self.email, defaults={"verified": True, "primary": True}
        )


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "core.Program"
        django_get_or_create = ("slug",)

    name = "ProDev Backend Engineering"
    slug = "prodev-backend"
    description = "A project-based backend program."


class ModuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "core.Module"

    program = factory.SubFactory(ProgramFactory)
    order = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Module {n}")
    slug = factory.Sequence(lambda n: f"module-{n}")
    summary = "What this module teaches."
    objectives = factory.LazyFunction(lambda: ["Explain the basics", "Build something real"])


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "core.Project"

    module = factory.SubFactory(ModuleFactory)
    order = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.Sequence(lambda n: f"project-{n}")
    summary = "Build a small thing well."
    description = "## Background\n\nA **real** project.\n"
    concepts = factory.LazyFunction(lambda: ["Generators"])
    objectives = factory.LazyFunction(lambda: ["Write a generator"])
    requirements = factory.LazyFunction(lambda: ["Python 3.12"])
    estimated_hours = 10


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "core.Task"

    project = factory.SubFactory(ProjectFactory)
    number = factory.Sequence(lambda n: n)
    title = factory.Sequence(lambda n: f"Task {n}")
    body = "Write `main.py`:\n\n```python\nprint('hello')\n```\n"
    kind = "mandatory"
    points = 10
    repo = "prodev-backend-python"
    directory = "0x00-basics"
    files = factory.LazyFunction(lambda: ["0-main.py"])


class ResourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "core.Resource"

    project = factory.SubFactory(ProjectFactory)
    title = "Python documentation"
    url = "https://docs.python.org/3/"


class CohortFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "core.Cohort"

    program = factory.SubFactory(ProgramFactory)
    name = factory.Sequence(lambda n: f"Cohort {n}")
    slug = factory.Sequence(lambda n: f"factory-cohort-{n}")
    start_date = factory.LazyFunction(lambda: (timezone.now() - timedelta(days=30)).date())
    time_zone = "Africa/Nairobi"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "core.Membership"

    user = factory.SubFactory(UserFactory)
    cohort = factory.SubFactory(CohortFactory)
    role = "learner"


class ProjectReleaseFactory(factory.django.DjangoModelFactory):
    """A release that opened two days ago: first deadline in 3 days, second in 10."""

    class Meta:
        model = "core.ProjectRelease"

    cohort = factory.SubFactory(CohortFactory)
    project = factory.SubFactory(ProjectFactory)
    opens_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=2))
    first_deadline = factory.LazyAttribute(lambda r: r.opens_at + timedelta(days=5))
    second_deadline = factory.LazyAttribute(lambda r: r.first_deadline + timedelta(days=7))


class ExtensionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "core.Extension"

    release = factory.SubFactory(ProjectReleaseFactory)
    learner = factory.SubFactory(UserFactory)
    first_deadline = factory.LazyAttribute(lambda e: e.release.first_deadline + timedelta(days=3))
    second_deadline = factory.LazyAttribute(lambda e: e.release.second_deadline + timedelta(days=3))
    reason = "Illness, with a note"


class AttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "core.Attempt"

    learner = factory.SubFactory(UserFactory)
    release = factory.SubFactory(ProjectReleaseFactory)


class IterationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "core.Iteration"

    attempt = factory.SubFactory(AttemptFactory)
    number = factory.Sequence(lambda n: n + 1)
    repo_url = "https://github.com/alice/prodev-backend-python"
    commit_sha = "0123456789abcdef0123456789abcdef01234567"
    notes = "All tasks done."
    submitted_at = factory.LazyFunction(timezone.now)


class ReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "core.Review"

    iteration = factory.SubFactory(IterationFactory)
    reviewer = factory.SubFactory(UserFactory)
    kind = "mentor"
    decision = "approved"
    feedback = "Good work."
    submitted_at = factory.LazyFunction(timezone.now)


class VerdictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "core.Verdict"

    review = factory.SubFactory(ReviewFactory)
    task = factory.SubFactory(TaskFactory)
    passed = True
    comment = ""


class CommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "core.Comment"

    attempt = factory.SubFactory(AttemptFactory)
    author = factory.SubFactory(UserFactory)
    body = "Looks good to me."


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "core.Notification"

    user = factory.SubFactory(UserFactory)
    kind = "review_done"
    title = "Python Generators was approved"
    url = "/dashboard/"


class CheckSuiteFactory(factory.django.DjangoModelFactory):
    """A task's check suite with small limits, so hostile code ends in seconds."""

    class Meta:
        model = "core.CheckSuite"

    task = factory.SubFactory(TaskFactory)
    wall_seconds = 10
    cpu_seconds = 5
    memory_mb = 256
    processes = 24
    output_kb = 16


class CheckFileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "core.CheckFile"

    suite = factory.SubFactory(CheckSuiteFactory)
    path = factory.Sequence(lambda n: f"test_{n}.py")
    content = "def test_ok():\n    assert True\n"


class CheckCaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "core.CheckCase"

    suite = factory.SubFactory(CheckSuiteFactory)
    name = factory.Sequence(lambda n: f"test_case_{n}")
    order = factory.Sequence(lambda n: n)


class CheckRunFactory(factory.django.DjangoModelFactory):
    """A finished run of an iteration's checks, as a worker would have recorded it."""

    class Meta:
        model = "core.CheckRun"

    iteration = factory.SubFactory(IterationFactory)
    learner = factory.LazyAttribute(lambda run: run.iteration.attempt.learner)
    release = factory.LazyAttribute(lambda run: run.iteration.attempt.release)
    requested_by = factory.LazyAttribute(lambda run: run.learner)
    trigger = "submission"
    repo_url = factory.LazyAttribute(lambda run: run.iteration.repo_url)
    status = "passed"
    requested_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=2))
    started_at = factory.LazyAttribute(lambda run: run.requested_at + timedelta(seconds=5))
    finished_at = factory.LazyAttribute(lambda run: run.started_at + timedelta(seconds=3))


class LearnerCheckRunFactory(CheckRunFactory):
    """A learner's "check my code" on a repository, queued now."""

    iteration = None
    learner = factory.SubFactory(UserFactory)
    release = factory.SubFactory(ProjectReleaseFactory)
    trigger = "learner"
    repo_url = "https://github.com/alice/prodev-backend-python"
    status = "queued"
    requested_at = factory.LazyFunction(timezone.now)
    started_at = None
    finished_at = None


class CheckTaskResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "core.CheckTaskResult"

    run = factory.SubFactory(CheckRunFactory)
    task = factory.SubFactory(TaskFactory)
    outcome = "passed"
    cases_passed = 3
    cases_total = 3
    duration_ms = 800


class CheckCaseResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "core.CheckCaseResult"

    task_result = factory.SubFactory(CheckTaskResultFactory)
    name = factory.Sequence(lambda n: f"test_case_{n}")
    outcome = "passed"
    duration_ms = 20
    order = factory.Sequence(lambda n: n)
