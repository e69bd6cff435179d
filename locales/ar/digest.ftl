# النشرة: سطر الموضوع، والجزآن HTML والنصي، وفقرة كل خبر.
# The digest, in Modern Standard Arabic (news register). Variables as in
# en/digest.ftl. Plurals use CLDR's six Arabic categories: zero (0), one
# (1), two (2), few (3–10, 103–110…), many (11–99, 111–199…), other (100,
# 1000…). The counted noun takes the case the number governs: genitive
# plural after 3–10, accusative singular after 11–99, genitive singular
# after 100; the dual stands alone, without a number. Arabic punctuation:
# the comma «،», the colon as in Latin.

## Subject line and the inbox preview

digest-subject = { $frequency ->
    [weekly] نشرتك الأسبوعية، { $date }
   *[daily] نشرتك اليومية، { $date }
}
digest-subject-headline = { $frequency ->
    [weekly] نشرتك الأسبوعية، { $date }: { $headline }
   *[daily] نشرتك اليومية، { $date }: { $headline }
}
digest-preheader = وأيضًا: { $titles }
digest-preheader-more = { PLURAL($count) ->
    [one] وأيضًا: { $titles }، وخبر آخر
    [two] وأيضًا: { $titles }، وخبران آخران
    [few] وأيضًا: { $titles }، و{ $count } أخبار أخرى
    [many] وأيضًا: { $titles }، و{ $count } خبرًا آخر
   *[other] وأيضًا: { $titles }، و{ $count } خبر آخر
}

## Heading and greeting

digest-view-in-browser = اعرضها في المتصفح
digest-view-in-browser-text = اعرضها في المتصفح:
digest-heading = { $frequency ->
    [weekly] نشرتك الأسبوعية · { $date }
   *[daily] نشرتك اليومية · { $date }
}
digest-heading-text = { $frequency ->
    [weekly] { $site }: نشرتك الأسبوعية، { $date }
   *[daily] { $site }: نشرتك اليومية، { $date }
}
digest-greeting = مرحبًا،
digest-greeting-named = مرحبًا { $name }،
digest-contents-top = { $frequency ->
    [weekly] إليك { $stories } من الأسبوع الماضي.
   *[daily] إليك { $stories } من الساعات الأربع والعشرين الماضية.
}
digest-contents-blogs = { $frequency ->
    [weekly] إليك { $posts } من الأسبوع الماضي.
   *[daily] إليك { $posts } من الساعات الأربع والعشرين الماضية.
}
digest-contents-both = { $frequency ->
    [weekly] إليك { $stories } و{ $posts } من الأسبوع الماضي.
   *[daily] إليك { $stories } و{ $posts } من الساعات الأربع والعشرين الماضية.
}
digest-count-stories = { PLURAL($count) ->
    [zero] لا أخبار بارزة
    [one] خبر بارز واحد
    [two] خبران بارزان
    [few] { $count }{ "\u00A0" }أخبار بارزة
    [many] { $count }{ "\u00A0" }خبرًا بارزًا
   *[other] { $count }{ "\u00A0" }خبر بارز
}
digest-count-posts = { PLURAL($count) ->
    [zero] لا تدوينات
    [one] تدوينة واحدة
    [two] تدوينتان
    [few] { $count }{ "\u00A0" }تدوينات
    [many] { $count }{ "\u00A0" }تدوينةً
   *[other] { $count }{ "\u00A0" }تدوينة
}

## Sections

digest-section-top = أبرز الأخبار
digest-section-blogs = من المدوّنات

## Footer

digest-footer-why = { $frequency ->
    [weekly] تصلك هذه النشرة الأسبوعية من { $site } على العنوان { $email }.
   *[daily] تصلك هذه النشرة اليومية من { $site } على العنوان { $email }.
}
digest-unsubscribe = إلغاء الاشتراك
digest-unsubscribe-text = إلغاء الاشتراك:
digest-preferences = إدارة التفضيلات
digest-preferences-text = إدارة التفضيلات:
digest-visit = زيارة { $site }
digest-address = { $site }، { $address }
digest-frequency = { $frequency ->
    [weekly] النشرة الأسبوعية
   *[daily] النشرة اليومية
}

## One story

story-votes = { PLURAL($count) ->
    [zero] لا أصوات
    [one] صوت واحد
    [two] صوتان
    [few] { $count }{ "\u00A0" }أصوات
    [many] { $count }{ "\u00A0" }صوتًا
   *[other] { $count }{ "\u00A0" }صوت
}
story-comments = { PLURAL($count) ->
    [zero] لا تعليقات
    [one] تعليق واحد
    [two] تعليقان
    [few] { $count }{ "\u00A0" }تعليقات
    [many] { $count }{ "\u00A0" }تعليقًا
   *[other] { $count }{ "\u00A0" }تعليق
}
story-read-more = اقرأ المزيد
story-byline = { $section } · { $author }
